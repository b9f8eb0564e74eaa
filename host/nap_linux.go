package host

import (
	"syscall"
	"time"
)

// nap sleeps d in a system call, without a Go timer (see detach).
func nap(d time.Duration) {
	ts := syscall.NsecToTimespec(d.Nanoseconds())
	_ = syscall.Nanosleep(&ts, nil)
}
