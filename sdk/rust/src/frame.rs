//! Frame reading and writing (sdk/ABI.md, version 1).

/// Input frame flag: records carry views of the declared paths.
pub const FLAG_VIEWS: u16 = 1;
/// Input frame flag: the host applies op lists.
pub const FLAG_HOST_OPS: u16 = 2;
/// Frame types.
pub const TYPE_INPUT: u8 = 1;
/// An output frame.
pub const TYPE_OUTPUT: u8 = 2;
/// An error frame.
pub const TYPE_ERROR: u8 = 3;
/// Outcome statuses.
pub const STATUS_OK: u8 = 0;
/// Dropped on purpose.
pub const STATUS_DROPPED: u8 = 1;
/// Failed with a message.
pub const STATUS_FAILED: u8 = 2;

/// One record of an input frame; its slices alias the frame.
#[derive(Debug, Default, Clone)]
pub struct InRecord<'a> {
    /// The payload.
    pub data: &'a [u8],
    /// The partition key.
    pub partition_key: &'a [u8],
    /// The sequence number.
    pub sequence_number: &'a [u8],
    /// The sub-sequence number.
    pub sub_sequence: u64,
    /// Arrival time, Unix nanoseconds.
    pub arrival_unix_nano: i64,
    /// The source.
    pub source: &'a [u8],
    /// Where this record's views start in the frame's view list (one
    /// (type, value) per declared path of the frame).
    pub view_start: usize,
}

/// A little-endian reader that reports the byte offset of what it cannot
/// read.
pub struct Reader<'a> {
    /// The bytes.
    pub b: &'a [u8],
    /// The offset of the next read.
    pub off: usize,
}

impl<'a> Reader<'a> {
    /// The bytes not read yet.
    pub fn rest(&self) -> usize {
        self.b.len() - self.off
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.rest() < n {
            return Err(format!("at byte offset {}: truncated {}", self.off, what));
        }
        let s = &self.b[self.off..self.off + n];
        self.off += n;
        Ok(s)
    }
    /// Reads a u8.
    pub fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    /// Reads a u32.
    pub fn u32(&mut self, what: &str) -> Result<u32, String> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    /// Reads a u64.
    pub fn u64(&mut self, what: &str) -> Result<u64, String> {
        let s = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    /// Reads a u32 length and that many bytes.
    pub fn bytes(&mut self, what: &str) -> Result<&'a [u8], String> {
        let at = self.off;
        let n = self.u32(what)? as usize;
        if self.rest() < n {
            return Err(format!("at byte offset {}: {} of {} bytes runs past the end of the frame", at, what, n));
        }
        self.take(n, what)
    }
}

/// Appends a frame header.
pub fn append_header(b: &mut Vec<u8>, typ: u8, flags: u16, count: u32, extra: u32) {
    b.extend_from_slice(b"WEIR");
    b.push(typ);
    b.push(1);
    b.extend_from_slice(&flags.to_le_bytes());
    b.extend_from_slice(&count.to_le_bytes());
    b.extend_from_slice(&extra.to_le_bytes());
}

/// Appends an error frame.
pub fn append_error(b: &mut Vec<u8>, msg: &str) {
    append_header(b, TYPE_ERROR, 0, 0, 0);
    b.extend_from_slice(&(msg.len() as u32).to_le_bytes());
    b.extend_from_slice(msg.as_bytes());
}

/// A decoded input frame; its slices alias the frame's bytes.
pub struct Input<'a> {
    /// The frame's flags.
    pub flags: u16,
    /// The declared paths, in frame order.
    pub paths: Vec<&'a [u8]>,
    /// The records.
    pub records: Vec<InRecord<'a>>,
    /// Every record's views, one (type, value) per declared path, record
    /// after record (see `InRecord::view_start`).
    pub views: Vec<(u8, &'a [u8])>,
}

impl<'a> Input<'a> {
    /// The views of record i.
    pub fn record_views(&self, i: usize) -> &[(u8, &'a [u8])] {
        let s = self.records[i].view_start;
        &self.views[s..s + self.paths.len()]
    }
}

/// Reads a whole input frame: its flags, declared paths and records. Any
/// malformation rejects the frame, naming the byte offset.
pub fn read_input(b: &[u8]) -> Result<Input<'_>, String> {
    let mut r = Reader { b, off: 0 };
    let magic = r.take(4, "header")?;
    if magic != b"WEIR" {
        return Err("at byte offset 0: bad magic (not a weir frame)".into());
    }
    let typ = r.u8("header")?;
    if typ != TYPE_INPUT {
        return Err(format!("at byte offset 4: frame type {}, want {} (input)", typ, TYPE_INPUT));
    }
    let ver = r.u8("header")?;
    if ver != 1 {
        return Err(format!("at byte offset 5: frame version {}, this SDK reads version 1", ver));
    }
    let f = r.take(2, "header")?;
    let flags = u16::from_le_bytes([f[0], f[1]]);
    let count = r.u32("header")? as usize;
    let npaths = r.u32("header")? as usize;
    if flags & FLAG_VIEWS == 0 && npaths != 0 {
        return Err(format!("at byte offset 12: {} declared paths without FlagViews", npaths));
    }
    if npaths > r.rest() / 4 {
        return Err(format!("at byte offset 12: {} declared paths cannot fit in {} bytes", npaths, r.rest()));
    }
    let mut paths = Vec::with_capacity(npaths);
    for _ in 0..npaths {
        paths.push(r.bytes("declared path")?);
    }
    // A record takes at least 36 bytes, plus 5 per view.
    let min = 36 + 5 * npaths;
    if count > r.rest() / min {
        return Err(format!("at byte offset 8: {} records cannot fit in {} bytes", count, r.rest()));
    }
    let mut recs = Vec::with_capacity(count);
    let mut views = Vec::with_capacity(count * npaths);
    for _ in 0..count {
        let mut rec = InRecord::default();
        r.u32("record flags")?;
        rec.data = r.bytes("record data")?;
        rec.partition_key = r.bytes("partition key")?;
        rec.sequence_number = r.bytes("sequence number")?;
        rec.sub_sequence = r.u64("sub-sequence")?;
        rec.arrival_unix_nano = r.u64("arrival time")? as i64;
        rec.source = r.bytes("source")?;
        rec.view_start = views.len();
        for _ in 0..npaths {
            let at = r.off;
            let t = r.u8("view type")?;
            let v = r.bytes("view value")?;
            if t > 7 {
                return Err(format!("at byte offset {}: unknown view type {}", at, t));
            }
            if matches!(t, 0 | 3 | 4 | 5) && !v.is_empty() {
                return Err(format!("at byte offset {}: a view of type {} carries {} bytes", at, t, v.len()));
            }
            views.push((t, v));
        }
        recs.push(rec);
    }
    if r.rest() != 0 {
        return Err(format!("at byte offset {}: {} trailing bytes after the last record", r.off, r.rest()));
    }
    Ok(Input { flags, paths, records: recs, views })
}
