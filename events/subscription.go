package events

import (
	"context"

	sesame "github.com/sesame-works/sesame"
)

type subState uint8

const (
	stateLive subState = iota
	statePending
	stateEnded
)

// Subscription is one viewer's feed of a task's live events.
type Subscription struct {
	// C receives the task's events in the order Redis delivered them. It is closed when the
	// subscription ends; Err then says why.
	C <-chan *sesame.TaskEvent

	c     chan *sesame.TaskEvent
	hub   *Hub
	t     *topic
	idx   int // in t.subs while live
	state subState
	err   error
}

// Close ends the subscription. It may be called more than once, and from any goroutine.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	s.hub.end(s, nil)
	s.hub.mu.Unlock()
}

// Err says why C was closed: nil after Close, ErrLagged, ErrResync or ErrClosed. It is nil while C is
// open.
func (s *Subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// finish closes C with err. Callers hold the hub's mu and remove s from its topic.
func (s *Subscription) finish(err error) {
	s.state = stateEnded
	s.err = err
	close(s.c)
}

// Follow is Subscribe in the shape the web app asks for (admin.Live): the events, and how to stop.
func (h *Hub) Follow(ctx context.Context, taskID string) (<-chan *sesame.TaskEvent, func(), error) {
	s, err := h.Subscribe(ctx, taskID)
	if err != nil {
		return nil, nil, err
	}
	return s.C, s.Close, nil
}
