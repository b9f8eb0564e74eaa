//! The guest-side op list applier, for hosts that do not apply op lists
//! (no FlagHostOps): the same documents, byte for byte, as the host's
//! frame.Applier (sdk/ABI.md "Operation lists").

use crate::digest;
use crate::frame::Reader;
use crate::json::{split_path, Json};

type Members = Vec<(Vec<u8>, Json)>;

fn set(root: &mut Members, segs: &[Vec<u8>], val: Json) {
    let mut cur = root;
    for s in &segs[..segs.len() - 1] {
        let i = match cur.iter().position(|(k, _)| k == s) {
            Some(i) => {
                if !matches!(cur[i].1, Json::Object(_)) {
                    cur[i].1 = Json::Object(Vec::new());
                }
                i
            }
            None => {
                cur.push((s.clone(), Json::Object(Vec::new())));
                cur.len() - 1
            }
        };
        cur = match &mut cur[i].1 {
            Json::Object(m) => m,
            _ => unreachable!(),
        };
    }
    let last = &segs[segs.len() - 1];
    match cur.iter().position(|(k, _)| k == last) {
        Some(i) => cur[i].1 = val,
        None => cur.push((last.clone(), val)),
    }
}

fn delete(root: &mut Members, segs: &[Vec<u8>]) {
    let mut cur = root;
    for s in &segs[..segs.len() - 1] {
        let i = match cur.iter().position(|(k, _)| k == s) {
            Some(i) => i,
            None => return,
        };
        cur = match &mut cur[i].1 {
            Json::Object(m) => m,
            _ => return,
        };
    }
    if let Some(i) = cur.iter().position(|(k, _)| *k == segs[segs.len() - 1]) {
        cur.remove(i);
    }
}

fn type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::True | Json::False => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Applies an op list (kind 1 ops: from `{}`; kind 2 edit: to the input
/// record) and returns the document. parsed is the input already parsed.
pub fn apply(kind: u8, ops: &[u8], input: &[u8], parsed: Option<&Json>) -> Result<Vec<u8>, String> {
    let mut own: Option<Json> = None;
    let mut parse_err: Option<String> = None;
    let mut input_json = |own: &mut Option<Json>| -> Result<(), String> {
        if own.is_some() || parsed.is_some() {
            return Ok(());
        }
        if let Some(e) = &parse_err {
            return Err(e.clone());
        }
        match Json::parse(input) {
            Ok(v) => {
                *own = Some(v);
                Ok(())
            }
            Err(e) => {
                parse_err = Some(e.clone());
                Err(e)
            }
        }
    };
    let mut root: Members = match kind {
        1 => Vec::new(),
        2 => {
            input_json(&mut own).map_err(|e| format!("edit: the input record is not JSON: {}", e))?;
            match parsed.or(own.as_ref()) {
                Some(Json::Object(m)) => m.clone(),
                Some(v) => return Err(format!("edit: the input record is a JSON {}, not an object", type_name(v))),
                None => unreachable!(),
            }
        }
        _ => return Err(format!("unknown output kind {}", kind)),
    };
    let mut r = Reader { b: ops, off: 0 };
    while r.rest() > 0 {
        let start = r.off;
        let code = r.u8("op")?;
        let path = r.bytes("op path")?;
        let segs = split_path(path);
        let val = match code {
            1 => {
                let raw = r.bytes("JSON value")?;
                Json::parse(raw).map_err(|e| format!("op at byte {}: set {:?}: invalid JSON value: {}", start, String::from_utf8_lossy(path), e))?
            }
            2 => Json::String(r.bytes("string value")?.to_vec()),
            7 => Json::Number((r.u64("integer value")? as i64).to_string().into_bytes()),
            3 | 8 => {
                let src = r.bytes("copy source")?;
                input_json(&mut own).map_err(|e| format!("copy {:?}: the input record is not JSON: {}", String::from_utf8_lossy(src), e))?;
                let v = match parsed.or(own.as_ref()).and_then(|j| j.get(&split_path(src))) {
                    Some(v) => v,
                    None => continue,
                };
                if code == 8 {
                    match v {
                        Json::String(s) if !s.is_empty() => v.clone(),
                        _ => continue,
                    }
                } else {
                    v.clone()
                }
            }
            4 => Json::String(input.to_vec()),
            5 => {
                let algo = r.u8("digest algorithm")?;
                let mut h = Vec::with_capacity(64);
                digest::append_hex_digest(&mut h, algo, input).map_err(|e| format!("op at byte {}: {}", start, e))?;
                Json::String(h)
            }
            6 => {
                delete(&mut root, &segs);
                continue;
            }
            _ => return Err(format!("at byte offset {}: unknown op {}", start, code)),
        };
        set(&mut root, &segs, val);
    }
    let mut out = Vec::with_capacity(input.len() + 64);
    Json::Object(root).write(&mut out)?;
    Ok(out)
}
