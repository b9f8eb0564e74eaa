//! The Rust SDK's conformance module for the golden frames
//! (sdk/conformance): it echoes each record's payload, metadata and views
//! as raw outputs, or, for records from the source "weir-conformance",
//! carries out the commands in the partition key with the SDK's API.

const PATHS: &[&str] = &["eventTime", "userIdentity.principalId", "s", "n", "t", "f", "z", "o", "a", "o.k.1", "dot\\.key", "missing"];

fn setup(m: &mut weir::Module) {
    m.paths(PATHS);
    m.handle(handle);
}

fn handle(r: &mut weir::Record) -> Result<(), String> {
    if r.source() == b"weir-conformance" {
        return run(r, r.partition_key());
    }
    r.emit_to("data", r.data());
    r.emit_to("partition_key", r.partition_key());
    r.emit_to("sequence_number", r.sequence_number());
    r.emit_to("sub_sequence", r.sub_sequence().to_string().as_bytes());
    r.emit_to("arrival_unix_nano", r.arrival_unix_nano().to_string().as_bytes());
    r.emit_to("source", r.source());
    for p in PATHS {
        let v = r.get(p);
        let mut b = vec![v.kind()];
        if matches!(v.kind(), weir::STRING | weir::NUMBER | weir::OBJECT | weir::ARRAY) {
            b.extend_from_slice(v.bytes());
        }
        r.emit_to(&format!("view:{}", p), &b);
    }
    Ok(())
}

const MALFORMED: &str = "conformance: malformed command";

struct Cmd<'a> {
    b: &'a [u8],
}

impl<'a> Cmd<'a> {
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        if self.b.len() < 4 {
            return Err(MALFORMED.into());
        }
        let n = u32::from_le_bytes([self.b[0], self.b[1], self.b[2], self.b[3]]) as usize;
        if n > self.b.len() - 4 {
            return Err(MALFORMED.into());
        }
        let v = &self.b[4..4 + n];
        self.b = &self.b[4 + n..];
        Ok(v)
    }
    fn str(&mut self) -> Result<String, String> {
        Ok(String::from_utf8_lossy(self.bytes()?).into_owned())
    }
    fn u8(&mut self) -> Result<u8, String> {
        let (&c, rest) = self.b.split_first().ok_or(MALFORMED)?;
        self.b = rest;
        Ok(c)
    }
    fn u64(&mut self) -> Result<u64, String> {
        if self.b.len() < 8 {
            return Err(MALFORMED.into());
        }
        let mut a = [0u8; 8];
        a.copy_from_slice(&self.b[..8]);
        self.b = &self.b[8..];
        Ok(u64::from_le_bytes(a))
    }
}

fn run(r: &mut weir::Record, b: &[u8]) -> Result<(), String> {
    let mut c = Cmd { b };
    let mut doc: Option<(weir::Doc, String)> = None;
    while !c.b.is_empty() {
        let code = c.u8()?;
        let needs_doc = (1..=8).contains(&code) || code == b'X' || code == b'Z';
        if needs_doc && doc.is_none() {
            return Err(MALFORMED.into());
        }
        match code {
            b'R' => {
                let route = c.str()?;
                let body = c.bytes()?;
                r.emit_to(&route, body);
            }
            b'O' => doc = Some((r.doc(), c.str()?)),
            b'E' => doc = Some((r.edit(), c.str()?)),
            b'Z' => {
                let (d, route) = doc.take().unwrap();
                r.emit_doc_to(&route, &d)?;
            }
            b'D' => r.drop_record(),
            b'F' => return Err(c.str()?),
            _ => {
                let d = &mut doc.as_mut().ok_or(MALFORMED)?.0;
                match code {
                    b'X' => {
                        d.append_raw(c.bytes()?);
                    }
                    weir::OP_SET_JSON => {
                        let p = c.str()?;
                        d.set_json(&p, c.bytes()?);
                    }
                    weir::OP_SET_STRING => {
                        let p = c.str()?;
                        d.set_string(&p, c.bytes()?);
                    }
                    weir::OP_COPY => {
                        let p = c.str()?;
                        d.copy(&p, &c.str()?);
                    }
                    weir::OP_SET_ORIGINAL => {
                        d.set_original(&c.str()?);
                    }
                    weir::OP_SET_DIGEST => {
                        let p = c.str()?;
                        d.set_digest(&p, c.u8()?);
                    }
                    weir::OP_DELETE => {
                        d.delete(&c.str()?);
                    }
                    weir::OP_SET_INT => {
                        let p = c.str()?;
                        d.set_int(&p, c.u64()? as i64);
                    }
                    weir::OP_COPY_STRING => {
                        let p = c.str()?;
                        d.copy_string(&p, &c.str()?);
                    }
                    _ => return Err(MALFORMED.into()),
                }
            }
        }
    }
    if doc.is_some() {
        return Err(MALFORMED.into());
    }
    Ok(())
}

weir::export!(setup);
