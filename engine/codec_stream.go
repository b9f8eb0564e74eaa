package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MaxRecordBytes bounds one record read by a Decoder (one NDJSON line,
// one array element, one document, one raw input): 256 MiB.
const MaxRecordBytes = 256 << 20

// detectWindow is how much of an input a Decoder reads before it must
// choose a layout. An input that ends within it is decoded exactly as
// DecodeRecords always did; a longer one is streamed. A variable for
// tests.
var detectWindow = 4 << 20

// slabSize is the size of the buffers streamed records are copied into.
const slabSize = 256 << 10

// The layouts a Decoder streams.
const (
	modeUnset = iota
	modeMemory
	modeNDJSON
	modeLines
	modeRaw
	modeArray
	modeObject
	modeDocument
	modeTrailer
	modeDone
)

// Decoder reads the records of one input as a stream, with bounded
// memory: NDJSON and lines one line at a time, JSON arrays and CloudTrail
// {"Records": [...]} files one element at a time, through a streaming
// tokenizer; gzip, zstd, bzip2 and framed snappy are decompressed on the fly. Its layouts and
// records are those of DecodeRecordsFormat (which runs a Decoder to the
// end), except that an input longer than the detection window (4 MiB) is
// classified from its beginning: a first line that is a complete JSON
// value followed by more data is NDJSON, an array or object that is not
// one line is streamed element by element, and data after such an array
// or object is an error (DecodeRecords used to read it as NDJSON).
//
// The records returned before an error are complete and correct: when a
// compressed stream is truncated, Next returns every record that was
// decoded completely, then a *DecodeError giving the byte offset where
// the stream broke.
type Decoder struct {
	in      io.Reader
	src     io.Reader
	closer  func()
	source  string
	format  Format
	codec   string // "gzip", "zstd", "bzip2" or "snappy" when the input is compressed
	counted *countReader
	limit   int64 // total decompressed bytes allowed; 0: unbounded

	buf  []byte
	pos  int   // first byte of buf still needed
	base int64 // offset of buf[0] in the decompressed input
	eof  bool
	rerr error
	// short is set when the last read returned less than asked for (a
	// pipe, not a file): the layout is then chosen as early as possible.
	short bool

	mode    int
	mem     []Record // modeMemory
	rel     int      // scan progress, relative to pos
	line    int      // lines read (modeNDJSON, modeLines)
	elem    int      // array elements read
	astate  int
	ostate  int
	depth   int  // nesting depth of the array being streamed
	inRecs  bool // streaming the Records array of an object
	sawRecs bool
	slab    []byte
	n       int64 // records returned
	err     error
}

// NewDecoder returns a Decoder reading r, a file or a stream named source
// in records and errors; format is the layout (FormatAuto detects it).
func NewDecoder(r io.Reader, source string, format Format) (*Decoder, error) {
	if format == "" {
		format = FormatAuto
	}
	if _, err := ParseFormat(string(format)); err != nil {
		return nil, err
	}
	return &Decoder{in: r, source: source, format: format}, nil
}

// Records returns how many records Next has returned.
func (d *Decoder) Records() int64 { return d.n }

// Next returns the next record, or io.EOF after the last one. The
// record's Data is its own (it may share a larger buffer with other
// records, never with the decoder's). Any other error ends the input: a
// *DecodeError locates it.
func (d *Decoder) Next() (Record, error) {
	if d.err != nil {
		return Record{}, d.err
	}
	rec, err := d.next()
	if err != nil {
		d.err = err
		d.buf, d.mem, d.slab = nil, nil, nil
		if d.closer != nil {
			d.closer()
			d.closer = nil
		}
		return Record{}, err
	}
	d.n++
	return rec, nil
}

func (d *Decoder) next() (Record, error) {
	if d.mode == modeUnset {
		if err := d.start(); err != nil {
			return Record{}, err
		}
	}
	for {
		var rec Record
		var ok bool
		var err error
		switch d.mode {
		case modeMemory:
			if len(d.mem) == 0 {
				return Record{}, io.EOF
			}
			rec = d.mem[0]
			d.mem[0] = Record{}
			d.mem = d.mem[1:]
			return rec, nil
		case modeNDJSON, modeLines:
			rec, ok, err = d.nextLine()
		case modeRaw:
			rec, ok, err = d.whole()
		case modeArray:
			rec, ok, err = d.nextElement()
			if err == nil && !ok {
				d.mode = modeTrailer
				continue
			}
		case modeObject:
			rec, ok, err = d.nextInObject()
			if err == nil && !ok {
				d.mode = modeTrailer
				continue
			}
		case modeDocument:
			rec, ok, err = d.document()
			d.mode = modeTrailer
		case modeTrailer:
			err = d.trailer()
			d.mode = modeDone
		case modeDone:
			return Record{}, io.EOF
		}
		if err != nil {
			return Record{}, err
		}
		if ok {
			return rec, nil
		}
		if d.mode == modeNDJSON || d.mode == modeLines || d.mode == modeRaw {
			d.mode = modeDone
		}
	}
}

// countReader counts the bytes read from the (compressed) input.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// start opens the decompressor and chooses the layout.
func (d *Decoder) start() error {
	d.counted = &countReader{r: d.in}
	br := bufio.NewReaderSize(d.counted, 64<<10)
	magic, err := br.Peek(magicLen)
	if err != nil && err != io.EOF {
		return fmt.Errorf("codec: %s: %w", d.source, err)
	}
	d.src = br
	switch compressionOf(magic) {
	case "bzip2":
		d.codec = "bzip2"
		d.src = newBzip2Reader(br)
	case "snappy":
		d.codec = "snappy"
		d.src = newSnappyReader(br)
	case "gzip":
		d.codec = "gzip"
		zr, err := newGzipReader(br)
		if err != nil {
			return &DecodeError{Source: d.source, Msg: "gzip: " + err.Error(), Err: err}
		}
		d.src = zr
	case "zstd":
		d.codec = "zstd"
		zr, err := newZstdReader(br)
		if err != nil {
			return &DecodeError{Source: d.source, Msg: "zstd: " + err.Error(), Err: err}
		}
		d.src, d.closer = zr, zr.Close
	}
	switch d.format {
	case FormatRaw:
		d.mode = modeRaw
		return nil
	case FormatNDJSON:
		d.mode = modeNDJSON
	case FormatLines:
		d.mode = modeLines
	}
	for {
		if d.pos == 0 && d.base == 0 && (len(d.buf) >= 3 || d.eof || d.rerr != nil) && bytes.HasPrefix(d.buf, bom) {
			d.pos = 3
		}
		if d.mode != modeUnset {
			if len(d.buf) >= 3 || d.eof || d.rerr != nil {
				return nil
			}
		} else if d.eof && d.rerr == nil {
			return d.inMemory()
		} else if d.short || d.rerr != nil || len(d.buf) >= detectWindow {
			if d.choose(d.short && d.rerr == nil && len(d.buf) < detectWindow) {
				return nil
			}
		}
		if _, err := d.more(); err != nil {
			return err
		}
	}
}

var bom = []byte("\xef\xbb\xbf")

// inMemory decodes an input that ended within the detection window, as
// DecodeRecords always did.
func (d *Decoder) inMemory() error {
	data := d.buf[d.pos:]
	dec := &decoder{data: data, source: d.source}
	var recs []Record
	var err error
	switch d.format {
	case FormatJSON:
		recs, err = dec.document(false)
	case FormatCloudTrail:
		recs, err = dec.document(true)
	default:
		recs, err = dec.auto()
	}
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Offset += int64(d.pos)
		}
		return err
	}
	d.mem = recs
	d.mode = modeMemory
	return nil
}

// choose picks the layout of an auto or json/cloudtrail input from its
// beginning, and reports whether it could. With early set, it decides
// only when the beginning is conclusive (NDJSON), so that a slow stream
// starts flowing without waiting for the whole window.
func (d *Decoder) choose(early bool) bool {
	data := d.buf[d.pos:]
	i := skipSpace(data, 0)
	if i == len(data) {
		if early || d.format != FormatAuto && d.rerr == nil {
			return false // a forced document: read on to its first byte
		}
		d.mode = modeNDJSON // white space only, or a broken stream
		return true
	}
	switch d.format {
	case FormatJSON, FormatCloudTrail:
		if early {
			return false
		}
		switch {
		case d.format == FormatCloudTrail:
			d.mode, d.ostate = modeObject, objOpen
		case data[i] == '[':
			d.mode, d.astate, d.depth = modeArray, arrOpen, 1
		default:
			d.mode = modeDocument
		}
		d.pos += i
		return true
	}
	if c := data[i]; c != '[' && c != '{' {
		d.mode = modeNDJSON
		return true
	}
	nl := bytes.IndexByte(data[i:], '\n')
	if nl >= 0 {
		line := data[i : i+nl]
		if end, err := skipValue(line, 0, 0); err == nil && skipSpace(line, end) == len(line) {
			// A complete value on the first line: NDJSON when more data
			// follows, else a one-line document (wait for the end).
			if skipSpace(data, i+nl) < len(data) {
				d.mode = modeNDJSON
				return true
			}
			if early {
				return false
			}
		}
	}
	if early {
		return false
	}
	if data[i] == '[' {
		d.mode, d.astate, d.depth = modeArray, arrOpen, 1
		d.pos += i
		return true
	}
	// An object: streamed, unless it is broken within the window and its
	// first line is not a lone "{" (then it is NDJSON, as DecodeRecords
	// reads it).
	if _, err := skipValue(data, i, 0); err != nil && !err.eof && !firstLineIsBrace(data[i:]) {
		d.mode = modeNDJSON
		return true
	}
	d.mode, d.ostate = modeObject, objOpen
	d.pos += i
	return true
}

// more reads more input after compacting the buffer. It returns false at
// the end of the input (d.eof or d.rerr set).
func (d *Decoder) more() (bool, error) {
	if d.eof || d.rerr != nil {
		return false, nil
	}
	// Drop what is consumed when it is at least half the data (or the
	// room runs out): copies stay linear in the input.
	if d.mode != modeUnset && d.pos > 0 && (d.pos >= len(d.buf)/2 || cap(d.buf)-len(d.buf) < 4<<10) {
		n := copy(d.buf, d.buf[d.pos:])
		d.base += int64(d.pos)
		d.buf = d.buf[:n]
		d.pos = 0
	}
	if pending := len(d.buf) - d.pos; pending > MaxRecordBytes {
		return false, &DecodeError{Source: d.source, Offset: d.base + int64(d.pos),
			Msg: fmt.Sprintf("record larger than %d bytes", MaxRecordBytes)}
	}
	// Grow by as much as is pending when the room runs out, so that a
	// reader filling the room scans a long record again only after its
	// size doubled, and buffer copies stay linear even for a reader that
	// returns a few bytes at a time.
	if cap(d.buf)-len(d.buf) < 4<<10 {
		want := max(64<<10, len(d.buf)-d.pos)
		nb := make([]byte, len(d.buf), len(d.buf)+want)
		copy(nb, d.buf)
		d.buf = nb
	}
	for {
		room := d.buf[len(d.buf):cap(d.buf)]
		n, err := d.src.Read(room)
		d.buf = d.buf[:len(d.buf)+n]
		d.short = n < len(room)
		if d.limit > 0 && d.base+int64(len(d.buf)) > d.limit {
			return false, fmt.Errorf("codec: %s: input larger than %d bytes after decompression", d.source, d.limit)
		}
		switch {
		case err == io.EOF:
			d.eof = true
			return n > 0, nil
		case err != nil:
			d.rerr = err
			return n > 0, nil
		case n > 0:
			return true, nil
		}
	}
}

// ended returns the error for an input that ended while the record at
// buf[at] was incomplete: the read error when the stream broke, else
// fallback (a syntax error), else nil.
func (d *Decoder) ended(at int, fallback *syntaxError) error {
	if d.rerr != nil {
		broke := d.base + int64(len(d.buf))
		codec := d.codec
		if codec == "" {
			codec = "read"
		}
		msg := fmt.Sprintf("%s: %v: the input broke here", codec, d.rerr)
		if d.codec != "" {
			msg += fmt.Sprintf(" (after %d bytes of compressed input)", d.counted.n)
		}
		if cut := d.base + int64(at); cut < broke {
			msg += fmt.Sprintf("; the record at byte offset %d was cut, the %d before it were delivered", cut, d.n)
		} else {
			msg += fmt.Sprintf("; the %d records before it were delivered", d.n)
		}
		return &DecodeError{Source: d.source, Offset: broke, Msg: msg, Err: d.rerr}
	}
	if fallback != nil {
		return &DecodeError{Source: d.source, Offset: d.base + int64(fallback.off), Msg: fallback.msg}
	}
	return nil
}

// keep copies b into the decoder's current slab.
func (d *Decoder) keep(b []byte) []byte {
	if len(b) > slabSize/4 {
		return bytes.Clone(b)
	}
	if cap(d.slab)-len(d.slab) < len(b) {
		d.slab = make([]byte, 0, slabSize)
	}
	s := len(d.slab)
	d.slab = append(d.slab, b...)
	return d.slab[s:len(d.slab):len(d.slab)]
}

func (d *Decoder) record(b []byte, seq int) Record {
	return Record{Data: d.keep(b), Meta: Metadata{SequenceNumber: strconv.Itoa(seq), Source: d.source}}
}

// nextLine returns the next non-blank line (modeNDJSON: trimmed of white
// space; modeLines: as it is, without its "\n" or "\r\n").
func (d *Decoder) nextLine() (Record, bool, error) {
	for {
		j := bytes.IndexByte(d.buf[d.pos+d.rel:], '\n')
		var line []byte
		switch {
		case j >= 0:
			line = d.buf[d.pos : d.pos+d.rel+j]
			d.pos += d.rel + j + 1
			d.rel = 0
		default:
			d.rel = len(d.buf) - d.pos
			ok, err := d.more()
			if err != nil {
				return Record{}, false, err
			}
			if ok {
				continue
			}
			if d.pos == len(d.buf) {
				return Record{}, false, d.ended(d.pos, nil)
			}
			if d.rerr != nil {
				return Record{}, false, d.ended(d.pos, nil)
			}
			line = d.buf[d.pos:]
			d.pos = len(d.buf)
			d.rel = 0
		}
		d.line++
		if d.mode == modeNDJSON {
			s, e := trimSpace(line, 0, len(line))
			line = line[s:e]
		} else {
			line = bytes.TrimSuffix(line, []byte("\r"))
		}
		if len(line) > 0 {
			return d.record(line, d.line), true, nil
		}
	}
}

// whole returns the whole input as one record (modeRaw).
func (d *Decoder) whole() (Record, bool, error) {
	for {
		ok, err := d.more()
		if err != nil {
			return Record{}, false, err
		}
		if !ok {
			break
		}
	}
	if d.rerr != nil {
		return Record{}, false, d.ended(0, nil)
	}
	if len(d.buf) == 0 {
		return Record{}, false, nil
	}
	rec := Record{Data: d.buf, Meta: Metadata{SequenceNumber: "0", Source: d.source}}
	d.buf = nil
	return rec, true, nil
}

// moreOr reads more input. At the end of the input it returns false and
// the error for a record left incomplete: the read error when the stream
// broke, else fallback (a syntax error located before the read), else
// nil.
func (d *Decoder) moreOr(fallback *syntaxError) (bool, error) {
	base := d.base
	ok, err := d.more()
	if err != nil || ok {
		return ok, err
	}
	if fallback != nil {
		fallback.off -= int(d.base - base)
	}
	return false, d.ended(d.pos, fallback)
}
