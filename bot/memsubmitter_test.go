package bot_test

import (
	"context"
	"strconv"

	sesame "github.com/sesame-works/sesame"
)

// memSubmitter is a sesame.TaskSubmitter held in memory, for tests that must run without Postgres
// and Redis (the webhook fuzz target). It keeps what matters of queue.Submitter on
// postgres.TaskStore: a request without a delivery id is refused; a repeated delivery id, or a
// repeated non-empty request key, stores nothing and returns the first task with created false;
// a new request is stored queued. When err is set every Submit fails with it and stores nothing,
// as when the database is down.
type memSubmitter struct {
	byDelivery map[string]*sesame.Task
	byKey      map[string]*sesame.Task
	calls      int   // Submit calls, failed ones included
	err        error // returned by every Submit when set
}

var _ sesame.TaskSubmitter = (*memSubmitter)(nil)

func newMemSubmitter() *memSubmitter {
	return &memSubmitter{byDelivery: map[string]*sesame.Task{}, byKey: map[string]*sesame.Task{}}
}

// reset forgets every task and call and clears err.
func (m *memSubmitter) reset() {
	clear(m.byDelivery)
	clear(m.byKey)
	m.calls, m.err = 0, nil
}

// Submit implements sesame.TaskSubmitter.
func (m *memSubmitter) Submit(_ context.Context, r sesame.Request) (*sesame.Task, bool, error) {
	m.calls++
	if m.err != nil {
		return nil, false, m.err
	}
	if r.DeliveryID == "" {
		return nil, false, sesame.Errorf(sesame.EINVALID, "A request needs a delivery id.")
	}
	t, ok := m.byDelivery[r.DeliveryID]
	if !ok && r.RequestKey != "" {
		t, ok = m.byKey[r.RequestKey]
	}
	if ok {
		c := *t
		return &c, false, nil
	}
	t = &sesame.Task{ID: "task-" + strconv.Itoa(len(m.byDelivery)+1), Request: r, Status: sesame.StatusQueued}
	m.byDelivery[r.DeliveryID] = t
	if r.RequestKey != "" {
		m.byKey[r.RequestKey] = t
	}
	c := *t
	return &c, true, nil
}

// tasks returns the stored tasks.
func (m *memSubmitter) tasks() []*sesame.Task {
	out := make([]*sesame.Task, 0, len(m.byDelivery))
	for _, t := range m.byDelivery {
		out = append(out, t)
	}
	return out
}
