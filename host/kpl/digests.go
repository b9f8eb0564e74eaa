package kpl

import (
	"crypto/md5"
	"runtime"
	"sync"
	"sync/atomic"

	md5simd "github.com/minio/md5-simd"
	"golang.org/x/sys/cpu"
)

// Digests returns the MD5 of each of bufs. With many bytes on a CPU with
// AVX2 or AVX-512 it hashes up to 8 (AVX2) or 16 (AVX-512) buffers at
// once in the lanes of one core's vector unit, with one lane server per
// core (github.com/minio/md5-simd), each buffer fed by its own goroutine
// so that the lanes fill; elsewhere, and for a few small buffers, one
// after the other with crypto/md5. The digests are the same either way.
//
// An MD5 is a chain over 64-byte blocks, so one buffer cannot go faster
// than crypto/md5's ~700 MB/s per core: lanes are what gains. A
// 10,000-record Kinesis event carries ~300 aggregated records of 51 KB
// in and ~24 of 1 MiB out; measured at one core (load 6): 300 × 51 KB in
// 17 ms against 25-37 ms, 24 × 1 MiB in 12-17 ms against 37-49 ms.
func Digests(bufs [][]byte) [][DigestSize]byte {
	out := make([][DigestSize]byte, len(bufs))
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	srv := lanes()
	if srv == nil || len(bufs) < minLaneBuffers || total < minLaneBytes {
		for i, b := range bufs {
			out[i] = md5.Sum(b)
		}
		return out
	}
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
	return out
}

// Below these, Digests hashes with crypto/md5 (the lanes' channels and
// copies cost more than they gain).
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

// lanes returns one lane server per core (GOMAXPROCS), or nil when Digests
// must use crypto/md5.
func lanes() []md5simd.Server {
	if noLanes || runtime.GOARCH != "amd64" || !cpu.X86.HasAVX2 {
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

// noLanes makes Digests use crypto/md5 (tests compare both).
var noLanes bool

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
