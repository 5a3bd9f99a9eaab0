package postgres_test

import (
	"context"
	"fmt"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

// A batch writes every event it was given, redacted like Record's: those queued while Run runs, those
// Record wrote itself when the queue was full, and those still queued when Run is told to stop.
func TestAuditBatchWritesEveryEvent(t *testing.T) {
	db := MustOpen(t)
	on := true
	store := newAuditStore(t, db, postgres.AuditOptions{Enabled: func() bool { return on }})
	b := store.Batch()
	event := func(i int) sesame.AuditEvent {
		return sesame.AuditEvent{ActorID: sesame.ActorSystem, Action: sesame.AuditTaskCreated, ResourceType: sesame.ResourceTask,
			ResourceID: fmt.Sprintf("t-%d", i), Payload: map[string]any{"repo": "octo/hello", "token": "ghs_0123456789abcdefghijklmnopqrstuvwxyz"}}
	}
	count := func() int {
		return countRows(t, db, `SELECT count(*) FROM audit_events WHERE action = 'task_created'`)
	}

	// Run not running: the queue fills (4096), and the events beyond it are written at once.
	const first = 5000
	for i := range first {
		b.Record(context.Background(), event(i))
	}
	if n := count(); n != first-4096 {
		t.Fatalf("with the queue full: %d events written at once, want %d", n, first-4096)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	for i := first; i < first+700; i++ {
		b.Record(context.Background(), event(i))
	}
	on = false
	b.Record(context.Background(), event(-1)) // the audit log is off: not even queued
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := count(); n != first+700 {
		t.Errorf("%d events written, want %d", n, first+700)
	}
	if n := countRows(t, db, `SELECT count(DISTINCT resource_id) FROM audit_events`); n != first+700 {
		t.Errorf("%d distinct events, want %d", n, first+700)
	}
	if n := countRows(t, db, `SELECT count(*) FROM audit_events WHERE payload::text LIKE '%ghs_%'`); n != 0 {
		t.Errorf("%d events hold the token unredacted", n)
	}
}
