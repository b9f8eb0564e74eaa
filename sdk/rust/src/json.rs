//! A small JSON reader and writer for the guest: parses a document into a
//! tree (objects keep their key order, duplicates included) and writes it
//! back compactly with weir's string escaping (sdk/ABI.md "String
//! escaping"), so documents match the host's byte for byte.

/// A parsed JSON value. Numbers keep their text.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    True,
    False,
    /// A number's JSON text, as written.
    Number(Vec<u8>),
    /// A string, unescaped (UTF-8 bytes).
    String(Vec<u8>),
    Array(Vec<Json>),
    /// An object's members in document order.
    Object(Vec<(Vec<u8>, Json)>),
}

impl Json {
    /// Parses a whole document (surrounding white space allowed).
    pub fn parse(b: &[u8]) -> Result<Json, String> {
        let mut p = Parser { b, i: 0, depth: 0 };
        p.ws();
        let v = p.value()?;
        p.ws();
        if p.i != b.len() {
            return Err(format!("unexpected byte at offset {} after the value", p.i));
        }
        Ok(v)
    }

    /// The value at a split path: object keys, or decimal array indexes.
    pub fn get(&self, segs: &[Vec<u8>]) -> Option<&Json> {
        let mut v = self;
        for s in segs {
            v = match v {
                Json::Object(m) => &m.iter().find(|(k, _)| k == s)?.1,
                Json::Array(a) => {
                    let i = std::str::from_utf8(s).ok()?.parse::<usize>().ok()?;
                    a.get(i)?
                }
                _ => return None,
            };
        }
        Some(v)
    }

    /// The view type of the value (sdk/ABI.md "Views and value types").
    pub fn view_type(&self) -> u8 {
        match self {
            Json::String(_) => 1,
            Json::Number(_) => 2,
            Json::True => 3,
            Json::False => 4,
            Json::Null => 5,
            Json::Object(_) => 6,
            Json::Array(_) => 7,
        }
    }

    /// Appends the value compactly; a number that is not valid JSON is an
    /// error.
    pub fn write(&self, dst: &mut Vec<u8>) -> Result<(), String> {
        match self {
            Json::Null => dst.extend_from_slice(b"null"),
            Json::True => dst.extend_from_slice(b"true"),
            Json::False => dst.extend_from_slice(b"false"),
            Json::Number(n) => {
                if !valid_number(n) {
                    return Err(format!("the document would hold {:?}, which is not a JSON number", String::from_utf8_lossy(n)));
                }
                dst.extend_from_slice(n)
            }
            Json::String(s) => append_string(dst, s),
            Json::Array(a) => {
                dst.push(b'[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        dst.push(b',');
                    }
                    v.write(dst)?;
                }
                dst.push(b']');
            }
            Json::Object(m) => {
                dst.push(b'{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        dst.push(b',');
                    }
                    append_string(dst, k);
                    dst.push(b':');
                    v.write(dst)?;
                }
                dst.push(b'}');
            }
        }
        Ok(())
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{} at offset {}", what, self.i))
    }

    fn lit(&mut self, s: &[u8], v: Json) -> Result<Json, String> {
        if self.b[self.i..].starts_with(s) {
            self.i += s.len();
            Ok(v)
        } else {
            self.err("invalid literal")
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        if self.i >= self.b.len() {
            return self.err("unexpected end of JSON");
        }
        match self.b[self.i] {
            b'{' => {
                self.depth += 1;
                if self.depth > 300 {
                    return self.err("too deeply nested");
                }
                self.i += 1;
                let mut m = Vec::new();
                self.ws();
                if self.i < self.b.len() && self.b[self.i] == b'}' {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(Json::Object(m));
                }
                loop {
                    self.ws();
                    if self.i >= self.b.len() || self.b[self.i] != b'"' {
                        return self.err("expected an object key");
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.i >= self.b.len() || self.b[self.i] != b':' {
                        return self.err("expected ':'");
                    }
                    self.i += 1;
                    self.ws();
                    let v = self.value()?;
                    m.push((k, v));
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            self.depth -= 1;
                            return Ok(Json::Object(m));
                        }
                        _ => return self.err("expected ',' or '}'"),
                    }
                }
            }
            b'[' => {
                self.depth += 1;
                if self.depth > 300 {
                    return self.err("too deeply nested");
                }
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.i < self.b.len() && self.b[self.i] == b']' {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(Json::Array(a));
                }
                loop {
                    self.ws();
                    a.push(self.value()?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            self.depth -= 1;
                            return Ok(Json::Array(a));
                        }
                        _ => return self.err("expected ',' or ']'"),
                    }
                }
            }
            b'"' => Ok(Json::String(self.string()?)),
            b't' => self.lit(b"true", Json::True),
            b'f' => self.lit(b"false", Json::False),
            b'n' => self.lit(b"null", Json::Null),
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while self.i < self.b.len() && matches!(self.b[self.i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    self.i += 1;
                }
                let n = &self.b[start..self.i];
                if !valid_number(n) {
                    self.i = start;
                    return self.err("invalid number");
                }
                Ok(Json::Number(n.to_vec()))
            }
            _ => self.err("unexpected byte"),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        if self.i + 4 > self.b.len() {
            return self.err("truncated \\u escape");
        }
        let mut v = 0u32;
        for k in 0..4 {
            let c = self.b[self.i + k];
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return self.err("invalid \\u escape"),
            };
            v = v << 4 | d as u32;
        }
        self.i += 4;
        Ok(v)
    }

    // string reads a quoted string (self.b[self.i] == '"') and unescapes it.
    fn string(&mut self) -> Result<Vec<u8>, String> {
        self.i += 1;
        let start = self.i;
        while self.i < self.b.len() && self.b[self.i] != b'"' && self.b[self.i] != b'\\' {
            if self.b[self.i] < 0x20 {
                return self.err("control character in a string");
            }
            self.i += 1;
        }
        let mut s = self.b[start..self.i].to_vec();
        loop {
            if self.i >= self.b.len() {
                return self.err("unterminated string");
            }
            let c = self.b[self.i];
            self.i += 1;
            match c {
                b'"' => return Ok(s),
                b'\\' => {
                    let e = match self.b.get(self.i) {
                        Some(e) => *e,
                        None => return self.err("unterminated string"),
                    };
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => s.push(e),
                        b'b' => s.push(8),
                        b'f' => s.push(12),
                        b'n' => s.push(b'\n'),
                        b'r' => s.push(b'\r'),
                        b't' => s.push(b'\t'),
                        b'u' => {
                            let mut r = self.hex4()?;
                            if (0xd800..0xdc00).contains(&r) && self.b[self.i..].starts_with(b"\\u") {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xdc00..0xe000).contains(&lo) {
                                    r = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
                                } else {
                                    self.i = save;
                                }
                            }
                            let ch = char::from_u32(r).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            s.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            self.i -= 1;
                            return self.err("invalid escape");
                        }
                    }
                }
                c if c < 0x20 => {
                    self.i -= 1;
                    return self.err("control character in a string");
                }
                c => s.push(c),
            }
        }
    }
}

/// Reports whether b is a JSON number (RFC 8259, section 6).
pub fn valid_number(b: &[u8]) -> bool {
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    if b.get(i) == Some(&b'0') {
        i += 1;
    } else if digits(&mut i) == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e') | Some(b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+') | Some(b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends s as a quoted JSON string with weir's escaping: `"` `\` and
/// control characters escaped, U+2028/U+2029 escaped, each byte of invalid
/// UTF-8 written as \ufffd.
pub fn append_string(dst: &mut Vec<u8>, s: &[u8]) {
    dst.push(b'"');
    let mut i = 0;
    let mut start = 0;
    while i < s.len() {
        let c = s[i];
        if c >= 0x20 && c != b'"' && c != b'\\' && c < 0x80 {
            i += 1;
            continue;
        }
        if c >= 0x80 {
            let size = utf8_len(&s[i..]);
            if size == 0 {
                dst.extend_from_slice(&s[start..i]);
                dst.extend_from_slice(b"\\ufffd");
                i += 1;
                start = i;
                continue;
            }
            if size == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9) {
                dst.extend_from_slice(&s[start..i]);
                dst.extend_from_slice(if s[i + 2] == 0xa8 { b"\\u2028" } else { b"\\u2029" });
                i += 3;
                start = i;
                continue;
            }
            i += size;
            continue;
        }
        dst.extend_from_slice(&s[start..i]);
        match c {
            b'"' => dst.extend_from_slice(b"\\\""),
            b'\\' => dst.extend_from_slice(b"\\\\"),
            b'\n' => dst.extend_from_slice(b"\\n"),
            b'\r' => dst.extend_from_slice(b"\\r"),
            b'\t' => dst.extend_from_slice(b"\\t"),
            _ => dst.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]),
        }
        i += 1;
        start = i;
    }
    dst.extend_from_slice(&s[start..]);
    dst.push(b'"');
}

// utf8_len returns the length of the valid UTF-8 sequence starting s, or 0
// (the same acceptance as Go's utf8.DecodeRune).
fn utf8_len(s: &[u8]) -> usize {
    let c = s[0];
    let (n, lo, hi) = match c {
        0xc2..=0xdf => (2, 0x80, 0xbf),
        0xe0 => (3, 0xa0, 0xbf),
        0xe1..=0xec | 0xee..=0xef => (3, 0x80, 0xbf),
        0xed => (3, 0x80, 0x9f),
        0xf0 => (4, 0x90, 0xbf),
        0xf1..=0xf3 => (4, 0x80, 0xbf),
        0xf4 => (4, 0x80, 0x8f),
        _ => return 0,
    };
    if s.len() < n || s[1] < lo || s[1] > hi {
        return 0;
    }
    for k in 2..n {
        if s[k] < 0x80 || s[k] > 0xbf {
            return 0;
        }
    }
    n
}

/// Splits a dotted path into its keys, honouring `\.` and `\\`
/// (sdk/ABI.md "Path syntax").
pub fn split_path(p: &[u8]) -> Vec<Vec<u8>> {
    let mut segs = Vec::new();
    let mut cur = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let c = p[i];
        if c == b'\\' && i + 1 < p.len() {
            i += 1;
            cur.push(p[i]);
        } else if c == b'.' {
            segs.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
        i += 1;
    }
    segs.push(cur);
    segs
}
