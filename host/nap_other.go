//go:build !linux

package host

import "time"

// nap sleeps d. Off Linux it uses a Go timer, which a call that does not
// yield its P can delay (see detach); weir runs on Linux in production.
func nap(d time.Duration) { time.Sleep(d) }
