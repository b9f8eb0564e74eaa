//! A tag-and-drop module: drops read-only events (`"readOnly": true`) and
//! tags every other record with `"weir_tag":"write"`, editing the record in
//! place (its other fields and their order are kept).
//!
//! Build (see ../README.md): the SDK as an rlib, then this module as a
//! cdylib linked against it.

fn setup(m: &mut weir::Module) {
    m.paths(&["readOnly"]);
    m.handle(handle);
}

fn handle(r: &mut weir::Record) -> Result<(), String> {
    if r.get("readOnly").as_bool() == Some(true) {
        r.drop_record();
        return Ok(());
    }
    let mut d = r.edit();
    d.set_string("weir_tag", "write");
    r.emit_doc(&d)
}

weir::export!(setup);
