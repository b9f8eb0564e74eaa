package host

import "github.com/weirhq/weir/engine"

// GuestMemory is what a stage's module instances hold in linear memory,
// as sampled by StageMemory.
type GuestMemory struct {
	// Pages is the largest linear memory of the stage's idle instances,
	// in 64 KiB pages (0 when none is idle).
	Pages uint32
	// LimitPages is the module's memory cap (limits.memory_pages).
	LimitPages uint32
	// Idle is the number of idle instances sampled.
	Idle int
	// Created counts the instances made for the stage so far (replaced
	// ones included).
	Created int64
}

// StageMemory samples the guest memory of a stage made by a Host
// (NewStage, LoadModule). Instances running a batch are not sampled;
// call it between batches. ok is false for any other engine.Stage.
func StageMemory(st engine.Stage) (m GuestMemory, ok bool) {
	s, isHost := st.(*stage)
	if !isHost {
		return GuestMemory{}, false
	}
	m.LimitPages = s.cm.pages
	m.Created = s.created.Load()
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	for _, inst := range s.pool.idle {
		m.Idle++
		m.Pages = max(m.Pages, uint32(inst.memSize()>>16))
	}
	return m, true
}
