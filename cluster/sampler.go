package cluster

import (
	"context"
	"sync"
	"time"
)

// Sampler keeps the last result of a slow measurement (the size of a big folder, a test sandbox)
// and takes a new one in the background at most once per Every. It is safe for concurrent use.
type Sampler[T any] struct {
	Every   time.Duration
	Measure func(ctx context.Context) (T, error)

	mu      sync.Mutex
	last    Sample[T]
	started time.Time // of the last measurement begun
	running bool
}

// Sample is one measurement: its value, or why there is none, and when it was taken (zero: no
// measurement has finished yet).
type Sample[T any] struct {
	Value T
	Err   error
	At    time.Time
}

// Get returns the last measurement and, when the last one began Every ago or more and none is under
// way, begins another in the background, which ctx bounds.
func (s *Sampler[T]) Get(ctx context.Context) Sample[T] {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running && ctx.Err() == nil && (s.started.IsZero() || time.Since(s.started) >= s.Every) {
		s.running, s.started = true, time.Now()
		go s.measure(ctx)
	}
	return s.last
}

func (s *Sampler[T]) measure(ctx context.Context) {
	v, err := s.Measure(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = false
	if ctx.Err() != nil {
		return // cut short: keep the last complete measurement
	}
	s.last = Sample[T]{Value: v, Err: err, At: time.Now().UTC()}
}
