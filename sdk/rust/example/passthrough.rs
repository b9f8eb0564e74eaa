//! A passthrough module, the Rust twin of modules/passthrough-as (for
//! benchmarks and the cross-language tests): every record is emitted
//! unchanged; a record whose payload is exactly "drop" is dropped and
//! "fail" fails.

fn setup(m: &mut weir::Module) {
    m.handle(handle);
}

fn handle(r: &mut weir::Record) -> Result<(), String> {
    match r.data() {
        b"drop" => r.drop_record(),
        b"fail" => return Err(format!("record {} says fail", r.index())),
        d => r.emit(d),
    }
    Ok(())
}

weir::export!(setup);
