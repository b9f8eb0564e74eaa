package kpl

import (
	"crypto/md5"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	md5simd "github.com/minio/md5-simd"
	"golang.org/x/sys/cpu"
)

// Digests returns the MD5 of each of bufs. With many bytes on a CPU with
// AVX-512 it hashes 16 buffers at once in the lanes of one core's vector
// unit (sum16: md5-simd's AVX-512 kernel, loading with a transpose rather
// than gathers, run on the buffers where they lie), the buffers dealt out
// to one set of lanes per core (GOMAXPROCS); with AVX2 only, 8 at once
// through md5-simd's lane servers; elsewhere, and for a few small
// buffers, one after the other with crypto/md5. The digests are the same
// either way.
//
// An MD5 is a chain over 64-byte blocks, so one buffer cannot go faster
// than crypto/md5's ~800 MB/s per core: lanes are what gains. Longest
// first, a lane taking the next buffer as soon as it finishes one, keeps
// the lanes full until fewer than 16 buffers are left (a pass costs the
// same however many lanes are in use). Measured (BenchmarkDigests, one
// core, AMD EPYC): 5.5-6.4 GB/s against crypto/md5's 0.8 and md5-simd's
// servers' 0.9-1.7 on the shapes of a Kinesis event (300 x 51,200 bytes
// in; 24 x 1 MiB out, ~10-25% slower than the same bytes in 48 or 96
// buffers for its half-filled second pass); see bench/RESULTS.md, "Issue
// #11 item 4".
func Digests(bufs [][]byte) [][DigestSize]byte {
	out := make([][DigestSize]byte, len(bufs))
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	w := digestWay
	if w == wayAuto {
		switch {
		case len(bufs) < minLaneBuffers || total < minLaneBytes:
			w = wayMD5
		case hasX16:
			w = wayX16
		case lanes() != nil:
			w = wayServer
		default:
			w = wayMD5
		}
	}
	switch w {
	case wayX16:
		digestsX16(bufs, total, out)
	case wayServer:
		digestsServer(bufs, out)
	default:
		for i, b := range bufs {
			out[i] = md5.Sum(b)
		}
	}
	return out
}

// The ways of Digests: by its choice (wayAuto), or one forced by tests
// and benchmarks through digestWay.
const (
	wayAuto = iota
	wayMD5
	wayServer
	wayX16
)

// digestWay is the way Digests hashes (tests and benchmarks set it).
var digestWay = wayAuto

// digestsX16 is Digests with sum16: the buffers, longest first, dealt
// out to one set of 16 lanes per core (each set given the next buffer
// while it has the fewest bytes), the sets run in parallel.
func digestsX16(bufs [][]byte, total int, out [][DigestSize]byte) {
	order := make([]int, len(bufs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(bufs[b]) - len(bufs[a]) })
	sets := min(runtime.GOMAXPROCS(0), total/minLaneBytes, len(bufs)/minLaneBuffers)
	if sets <= 1 {
		sum16(bufs, order, out)
		return
	}
	parts := make([][]int, sets)
	load := make([]int, sets)
	for _, i := range order {
		s := 0
		for j := range load {
			if load[j] < load[s] {
				s = j
			}
		}
		parts[s] = append(parts[s], i)
		load[s] += len(bufs[i]) + md5.BlockSize
	}
	var wg sync.WaitGroup
	for _, p := range parts[1:] {
		wg.Go(func() { sum16(bufs, p, out) })
	}
	sum16(bufs, parts[0], out)
	wg.Wait()
}

// digestsServer is Digests with md5-simd's lane servers (AVX2): one
// goroutine per lane of every server feeds it buffers.
func digestsServer(bufs [][]byte, out [][DigestSize]byte) {
	srv := lanes()
	per := 8
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ {
		per = 16
	}
	workers := min(len(bufs), per*len(srv))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			h := srv[w%len(srv)].NewHash()
			defer h.Close()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bufs) {
					return
				}
				h.Reset()
				_, _ = h.Write(bufs[i]) // md5-simd's Write fails only after Close
				h.Sum(out[i][:0])
			}
		})
	}
	wg.Wait()
}

// Below these, Digests hashes with crypto/md5 (the lanes' set-up costs
// more than it gains).
const (
	minLaneBuffers = 4
	minLaneBytes   = 1 << 20
)

// laneServers are md5-simd's lane servers, one per core: as many as the
// most GOMAXPROCS seen (at most 8); none without AVX2 or off amd64. A
// server is a goroutine that lives as long as the process.
var laneServers struct {
	sync.Mutex
	s []md5simd.Server
}

// lanes returns one lane server per core (GOMAXPROCS), or nil when
// md5-simd has no vector code here.
func lanes() []md5simd.Server {
	if runtime.GOARCH != "amd64" || !cpu.X86.HasAVX2 {
		return nil
	}
	n := min(runtime.GOMAXPROCS(0), 8)
	laneServers.Lock()
	defer laneServers.Unlock()
	for len(laneServers.s) < n {
		laneServers.s = append(laneServers.s, md5simd.NewServer())
	}
	return laneServers.s[:n]
}

// Seal writes the MD5 digest into each of recs, records built by an
// Aggregator with DeferDigest (Aggregated.Unsealed): hashing many records
// at once with Digests is faster than one by one in Flush.
func Seal(recs [][]byte) {
	bodies := make([][]byte, len(recs))
	for i, r := range recs {
		bodies[i] = r[len(Magic) : len(r)-DigestSize]
	}
	for i, sum := range Digests(bodies) {
		copy(recs[i][len(recs[i])-DigestSize:], sum[:])
	}
}

// Body returns the protobuf of an aggregated record, whose MD5 the record
// carries (see DeaggregateSum), or nil when data is not aggregated.
func Body(data []byte) []byte {
	if !IsAggregated(data) {
		return nil
	}
	return data[len(Magic) : len(data)-DigestSize]
}
