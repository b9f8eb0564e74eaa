package benchkit

import (
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress draws one progress bar per phase on stderr, or nothing.
type progress struct {
	on bool
	w  io.Writer
}

// newProgress draws on w, or nothing when w is nil.
func newProgress(w io.Writer) *progress {
	return &progress{on: w != nil, w: w}
}

// start shows a bar described by desc, up to max (-1: a spinner), polling
// value (nil for a spinner) a few times a second, off the measured
// goroutines. The returned function ends and clears the bar.
func (p *progress) start(desc string, max int64, value func() int64) (stop func()) {
	if p == nil || !p.on {
		return func() {}
	}
	bar := progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(max > 0),
	)
	_ = bar.RenderBlank()
	done := make(chan struct{})
	var wg sync.WaitGroup
	if value != nil {
		wg.Go(func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					_ = bar.Set64(min(value(), max))
				}
			}
		})
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			_ = bar.Finish()
			_ = bar.Clear()
		})
	}
}
