package kpl

import (
	"fmt"
	"testing"
)

// digestShapes are the buffer shapes of a 10,000-record Kinesis event:
// its ~300 input records of 51,200 bytes (the KPL's default aggregate
// size) and its ~24 MiB of output cut into aggregates of 1 MiB, 512 KiB
// and 256 KiB.
var digestShapes = []struct {
	name string
	n    int
	size int
}{
	{"in-300x50KiB", 300, 51200},
	{"out-24x1MiB", 24, 1 << 20},
	{"out-48x512KiB", 48, 512 << 10},
	{"out-96x256KiB", 96, 256 << 10},
}

// BenchmarkDigests: Digests over each shape of a Kinesis event, against
// crypto/md5 one buffer after the other in the same run (md5), for each
// of Digests' ways here: md5-simd's lane servers
// (server) and md5x16 on the buffers (x16).
func BenchmarkDigests(b *testing.B) {
	for _, sh := range digestShapes {
		// Each buffer its own allocation, as the event's records and
		// the output's aggregates are.
		bufs := make([][]byte, sh.n)
		for i := range bufs {
			bufs[i] = make([]byte, sh.size)
			for j := range bufs[i] {
				bufs[i][j] = byte(i*7 + j + j>>9)
			}
		}
		for _, way := range digestWays() {
			b.Run(fmt.Sprintf("%s/%s", sh.name, way.name), func(b *testing.B) {
				digestWay = way.way
				defer func() { digestWay = wayAuto }()
				b.SetBytes(int64(sh.n * sh.size))
				for b.Loop() {
					Digests(bufs)
				}
			})
		}
	}
}

// digestWays are the ways Digests can hash on this machine.
func digestWays() []struct {
	name string
	way  int
} {
	ways := []struct {
		name string
		way  int
	}{{"md5", wayMD5}}
	if lanes() != nil {
		ways = append(ways, struct {
			name string
			way  int
		}{"server", wayServer})
	}
	if hasX16 {
		ways = append(ways, struct {
			name string
			way  int
		}{"x16", wayX16})
	}
	return ways
}
