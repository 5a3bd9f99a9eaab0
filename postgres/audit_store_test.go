package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

const (
	actorAda = "018f0000-0000-7000-8000-00000000000a"
	actorBob = "018f0000-0000-7000-8000-00000000000b"
)

// never is a Rand that never picks a write to prune.
func never() float64 { return 1 }

func newAuditStore(t *testing.T, db *postgres.DB, opts postgres.AuditOptions) *postgres.AuditStore {
	t.Helper()
	if opts.Rand == nil {
		opts.Rand = never
	}
	return postgres.NewAuditStore(db, opts)
}

// setAuditTimes sets the time of each event, by id, as if it had been written then.
func setAuditTimes(t *testing.T, db *postgres.DB, at map[int64]time.Time) {
	t.Helper()
	for id, when := range at {
		if _, err := db.Pool.Exec(context.Background(), `UPDATE audit_events SET at = $2 WHERE id = $1`, id, when); err != nil {
			t.Fatal(err)
		}
	}
}

// lastAuditID returns the id of the newest event, 0 when there is none.
func lastAuditID(t *testing.T, db *postgres.DB) int64 {
	t.Helper()
	var id int64
	if err := db.Pool.QueryRow(context.Background(), `SELECT coalesce(max(id), 0) FROM audit_events`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func countAudit(t *testing.T, db *postgres.DB) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func auditIDs(events []sesame.AuditEvent) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func TestAuditRecordAndRead(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	store := newAuditStore(t, db, postgres.AuditOptions{})
	before := time.Now()
	store.Record(ctx, sesame.AuditEvent{ID: 99, At: time.Unix(0, 0), ActorID: actorAda, ActorEmail: "ada@example.com",
		Action: sesame.AuditTaskCreated, ResourceType: sesame.ResourceTask, ResourceID: "t-1", IP: "203.0.113.9",
		UserAgent: "Mozilla/5.0", Payload: map[string]any{"repo": "octo/hello", "n": 3}})
	id := lastAuditID(t, db)
	got, err := store.AuditEvent(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := &sesame.AuditEvent{ID: id, At: time.Now(), ActorID: actorAda, ActorEmail: "ada@example.com",
		Action: sesame.AuditTaskCreated, ResourceType: sesame.ResourceTask, ResourceID: "t-1", IP: "203.0.113.9",
		UserAgent: "Mozilla/5.0", Payload: map[string]any{"repo": "octo/hello", "n": 3.0}}
	if diff := cmp.Diff(want, got, cmpopts.EquateApproxTime(time.Minute)); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	if got.At.Before(before.Add(-time.Second)) {
		t.Errorf("At = %v: the caller's time was stored", got.At)
	}

	// Nobody signed in is the system; huge and invalid values are cut and cleaned, never refused.
	store.Record(ctx, sesame.AuditEvent{Action: sesame.AuditSessionExpired, UserAgent: strings.Repeat("é", 5000) + "\x00",
		Payload: map[string]any{"big": strings.Repeat("x", 100<<10), "nul": "a\x00b", "bad": "\xff"}})
	got, err = store.AuditEvent(ctx, lastAuditID(t, db))
	if err != nil {
		t.Fatal(err)
	}
	if got.ActorID != sesame.ActorSystem {
		t.Errorf("actor = %q, want %q", got.ActorID, sesame.ActorSystem)
	}
	if len(got.UserAgent) > 1000 || !strings.HasSuffix(got.UserAgent, "é…") {
		t.Errorf("user agent of %d bytes ends %q", len(got.UserAgent), got.UserAgent[len(got.UserAgent)-8:])
	}
	if big, _ := got.Payload["big"].(string); len(big) > 2<<10 || got.Payload["nul"] != "ab" || got.Payload["bad"] != "\uFFFD" {
		t.Errorf("payload: big of %d bytes, nul %q, bad %q", len(big), got.Payload["nul"], got.Payload["bad"])
	}

	if _, err := store.AuditEvent(ctx, id+100); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("unknown id: err = %v, want ENOTFOUND", err)
	}
}

// TestAuditRecordLogsErrors: Record never fails the action it records; it logs.
func TestAuditRecordLogsErrors(t *testing.T) {
	db := MustOpen(t)
	var logs bytes.Buffer
	store := newAuditStore(t, db, postgres.AuditOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if _, err := db.Pool.Exec(context.Background(), `ALTER TABLE audit_events ADD CHECK (action <> 'user_login')`); err != nil {
		t.Fatal(err)
	}
	store.Record(context.Background(), sesame.AuditEvent{Action: sesame.AuditSignIn, ActorID: actorAda})
	if !strings.Contains(logs.String(), "record audit event") || !strings.Contains(logs.String(), "user_login") {
		t.Errorf("logs = %q", logs.String())
	}
}

// TestAuditRecordOutlivesCancel: a request that ends as its event is written still leaves it.
func TestAuditRecordOutlivesCancel(t *testing.T) {
	db := MustOpen(t)
	store := newAuditStore(t, db, postgres.AuditOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	store.Record(ctx, sesame.AuditEvent{Action: sesame.AuditSignOut, ActorID: actorAda})
	if n := countAudit(t, db); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

// auditFixture is a day of events every hour, from three actors, of several actions, whose times
// follow their ids as they do when Record writes them.
func auditFixture(t *testing.T) (*postgres.DB, *postgres.AuditStore, []sesame.AuditEvent, time.Time) {
	t.Helper()
	ctx := context.Background()
	db := MustOpen(t)
	store := newAuditStore(t, db, postgres.AuditOptions{})
	actions := []sesame.AuditAction{sesame.AuditSignIn, sesame.AuditTaskCreated, sesame.AuditSignIn, sesame.AuditSettingsChanged, sesame.AuditTaskFailed}
	types := map[sesame.AuditAction]string{sesame.AuditSignIn: sesame.ResourceSession, sesame.AuditTaskCreated: sesame.ResourceTask,
		sesame.AuditTaskFailed: sesame.ResourceTask, sesame.AuditSettingsChanged: sesame.ResourceSetting}
	actors := []string{actorAda, actorBob, sesame.ActorSystem}
	for i := range 48 {
		a := actions[i%len(actions)]
		store.Record(ctx, sesame.AuditEvent{ActorID: actors[i%len(actors)], Action: a, ResourceType: types[a], ResourceID: fmt.Sprint(i)})
	}
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	first := lastAuditID(t, db) - 47
	at := map[int64]time.Time{}
	for i := range int64(48) {
		at[first+i] = day.Add(time.Duration(i) * 30 * time.Minute)
	}
	setAuditTimes(t, db, at)
	all, err := store.AuditEvents(ctx, sesame.AuditFilter{Limit: 500})
	if err != nil || len(all) != 48 {
		t.Fatalf("fixture: %d events, %v", len(all), err)
	}
	return db, store, all, day
}

func TestAuditFilters(t *testing.T) {
	ctx := context.Background()
	_, store, all, day := auditFixture(t)
	tests := []struct {
		name   string
		filter sesame.AuditFilter
		match  func(sesame.AuditEvent) bool
	}{
		{"none", sesame.AuditFilter{}, func(sesame.AuditEvent) bool { return true }},
		{"action", sesame.AuditFilter{Action: sesame.AuditSignIn}, func(e sesame.AuditEvent) bool { return e.Action == sesame.AuditSignIn }},
		{"resource type", sesame.AuditFilter{ResourceType: sesame.ResourceTask}, func(e sesame.AuditEvent) bool { return e.ResourceType == sesame.ResourceTask }},
		{"user", sesame.AuditFilter{UserID: actorBob}, func(e sesame.AuditEvent) bool { return e.ActorID == actorBob }},
		{"system", sesame.AuditFilter{UserID: sesame.ActorSystem}, func(e sesame.AuditEvent) bool { return e.ActorID == sesame.ActorSystem }},
		{"start is inclusive", sesame.AuditFilter{Start: day.Add(5 * time.Hour)}, func(e sesame.AuditEvent) bool { return !e.At.Before(day.Add(5 * time.Hour)) }},
		{"end is exclusive", sesame.AuditFilter{End: day.Add(5 * time.Hour)}, func(e sesame.AuditEvent) bool { return e.At.Before(day.Add(5 * time.Hour)) }},
		{"range", sesame.AuditFilter{Start: day.Add(2 * time.Hour), End: day.Add(7*time.Hour + time.Minute)},
			func(e sesame.AuditEvent) bool {
				return !e.At.Before(day.Add(2*time.Hour)) && e.At.Before(day.Add(7*time.Hour+time.Minute))
			}},
		{"range before everything", sesame.AuditFilter{End: day}, func(sesame.AuditEvent) bool { return false }},
		{"range after everything", sesame.AuditFilter{Start: day.Add(48 * time.Hour)}, func(sesame.AuditEvent) bool { return false }},
		{"empty range", sesame.AuditFilter{Start: day.Add(3 * time.Hour), End: day.Add(3 * time.Hour)}, func(sesame.AuditEvent) bool { return false }},
		{"action and user", sesame.AuditFilter{Action: sesame.AuditSignIn, UserID: actorAda},
			func(e sesame.AuditEvent) bool { return e.Action == sesame.AuditSignIn && e.ActorID == actorAda }},
		{"action and resource type that never go together", sesame.AuditFilter{Action: sesame.AuditSignIn, ResourceType: sesame.ResourceTask},
			func(sesame.AuditEvent) bool { return false }},
		{"all of them", sesame.AuditFilter{Action: sesame.AuditTaskCreated, ResourceType: sesame.ResourceTask, UserID: actorBob,
			Start: day.Add(time.Hour), End: day.Add(20 * time.Hour)},
			func(e sesame.AuditEvent) bool {
				return e.Action == sesame.AuditTaskCreated && e.ActorID == actorBob && !e.At.Before(day.Add(time.Hour)) && e.At.Before(day.Add(20*time.Hour))
			}},
		{"all three, the resource type never with that action", sesame.AuditFilter{Action: sesame.AuditSignIn, ResourceType: sesame.ResourceTask, UserID: actorAda},
			func(sesame.AuditEvent) bool { return false }},
		{"all three", sesame.AuditFilter{Action: sesame.AuditSignIn, ResourceType: sesame.ResourceSession, UserID: actorAda},
			func(e sesame.AuditEvent) bool { return e.Action == sesame.AuditSignIn && e.ActorID == actorAda }},
		{"unknown user", sesame.AuditFilter{UserID: "nobody"}, func(sesame.AuditEvent) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []int64
			for _, e := range all {
				if tt.match(e) {
					want = append(want, e.ID)
				}
			}
			f := tt.filter
			f.Limit = 500
			got, err := store.AuditEvents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, auditIDs(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			var exported []int64
			if err := store.ExportAudit(ctx, tt.filter, func(e sesame.AuditEvent) error { exported = append(exported, e.ID); return nil }); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, exported, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("exported ids (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAuditDateRangeWithJitter: events written at the same time may get their ids in the other order
// of their times; a date range still selects exactly the events whose time is in it.
func TestAuditDateRangeWithJitter(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	store := newAuditStore(t, db, postgres.AuditOptions{})
	for range 8 {
		store.Record(ctx, sesame.AuditEvent{Action: sesame.AuditSignIn, ActorID: actorAda})
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	first := lastAuditID(t, db) - 7
	// In id order: 0s, 2s, 1s, 3s, 5s, 4s, 6s, 7s.
	offsets := []int{0, 2, 1, 3, 5, 4, 6, 7}
	at := map[int64]time.Time{}
	for i, s := range offsets {
		at[first+int64(i)] = t0.Add(time.Duration(s) * time.Second)
	}
	setAuditTimes(t, db, at)
	for _, r := range [][2]int{{1, 5}, {2, 4}, {1, 2}, {4, 5}, {0, 8}, {3, 6}} {
		start, end := t0.Add(time.Duration(r[0])*time.Second), t0.Add(time.Duration(r[1])*time.Second)
		var want []int64
		for i := len(offsets) - 1; i >= 0; i-- {
			if offsets[i] >= r[0] && offsets[i] < r[1] {
				want = append(want, first+int64(i))
			}
		}
		got, err := store.AuditEvents(ctx, sesame.AuditFilter{Start: start, End: end})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, auditIDs(got)); diff != "" {
			t.Errorf("[%ds, %ds) ids (-want +got):\n%s", r[0], r[1], diff)
		}
	}
}

func TestAuditPaging(t *testing.T) {
	ctx := context.Background()
	db, store, all, _ := auditFixture(t)
	for _, tt := range []struct {
		name   string
		filter sesame.AuditFilter
	}{
		{"everything", sesame.AuditFilter{Limit: 7}},
		{"by action", sesame.AuditFilter{Action: sesame.AuditSignIn, Limit: 4}},
		{"by user and date", sesame.AuditFilter{UserID: actorAda, Start: all[40].At, End: all[3].At, Limit: 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want, err := store.AuditEvents(ctx, sesame.AuditFilter{Action: tt.filter.Action, UserID: tt.filter.UserID,
				Start: tt.filter.Start, End: tt.filter.End, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			// Older pages follow one another without a gap or a repeat.
			var got []int64
			f := tt.filter
			for range 100 {
				page, err := store.AuditEvents(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > f.Limit {
					t.Fatalf("page of %d, limit %d", len(page), f.Limit)
				}
				got = append(got, auditIDs(page)...)
				if len(page) < f.Limit {
					break
				}
				f.Before = page[len(page)-1].ID
			}
			if diff := cmp.Diff(auditIDs(want), got); diff != "" {
				t.Errorf("paged ids (-want +got):\n%s", diff)
			}
		})
	}

	// The tail: what is newer than the last id seen, newest first, the oldest of them first when
	// there are more than a page, so that asking again from the highest id misses none.
	store.Record(ctx, sesame.AuditEvent{Action: sesame.AuditSignOut, ActorID: actorAda})
	newest := lastAuditID(t, db)
	tail, err := store.AuditEvents(ctx, sesame.AuditFilter{After: all[3].ID})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{newest, all[0].ID, all[1].ID, all[2].ID}, auditIDs(tail)); diff != "" {
		t.Errorf("tail (-want +got):\n%s", diff)
	}
	var polled []int64
	after := all[20].ID
	for range 20 {
		page, err := store.AuditEvents(ctx, sesame.AuditFilter{After: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		polled = append(auditIDs(page), polled...)
		after = page[0].ID
	}
	want := append([]int64{newest}, auditIDs(all[:20])...)
	if diff := cmp.Diff(want, polled); diff != "" {
		t.Errorf("polled tail (-want +got):\n%s", diff)
	}
	if tail, _ := store.AuditEvents(ctx, sesame.AuditFilter{After: newest}); len(tail) != 0 {
		t.Errorf("tail after the newest = %v", auditIDs(tail))
	}
	filtered, err := store.AuditEvents(ctx, sesame.AuditFilter{After: all[10].ID, Action: sesame.AuditSignOut})
	if err != nil || !slices.Equal(auditIDs(filtered), []int64{newest}) {
		t.Errorf("filtered tail = %v, %v", auditIDs(filtered), err)
	}
	between, err := store.AuditEvents(ctx, sesame.AuditFilter{After: all[10].ID, Before: all[5].ID, Limit: 2})
	if err != nil || !slices.Equal(auditIDs(between), []int64{all[6].ID, all[7].ID}) {
		t.Errorf("between = %v, %v", auditIDs(between), err)
	}
}

// insertAuditRows writes n events straight into the table, far faster than Record.
func insertAuditRows(t testing.TB, db *postgres.DB, n int) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), `INSERT INTO audit_events (actor_id, action, resource_type)
		SELECT 'system', 'task_started', 'task' FROM generate_series(1, $1)`, n); err != nil {
		t.Fatal(err)
	}
}

func TestAuditPageLimits(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	store := newAuditStore(t, db, postgres.AuditOptions{})
	insertAuditRows(t, db, 600)
	for _, tt := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {10, 10}, {500, 500}, {501, 500}, {100000, 500}} {
		got, err := store.AuditEvents(ctx, sesame.AuditFilter{Limit: tt.limit})
		if err != nil || len(got) != tt.want {
			t.Errorf("limit %d: %d events (%v), want %d", tt.limit, len(got), err, tt.want)
		}
	}
}

func TestAuditExportBatches(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	store := newAuditStore(t, db, postgres.AuditOptions{})
	insertAuditRows(t, db, 2500)
	var got []int64
	err := store.ExportAudit(ctx, sesame.AuditFilter{Before: 10, After: 5, Limit: 1}, func(e sesame.AuditEvent) error {
		got = append(got, e.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2500 || !slices.IsSortedFunc(got, func(a, b int64) int { return int(b - a) }) || got[0] != 2500 || got[2499] != 1 {
		t.Errorf("exported %d ids, from %d to %d", len(got), got[0], got[len(got)-1])
	}
	stop := errors.New("client went away")
	n := 0
	err = store.ExportAudit(ctx, sesame.AuditFilter{}, func(sesame.AuditEvent) error {
		if n++; n == 1200 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 1200 {
		t.Errorf("export stopped by its callback: err %v after %d events", err, n)
	}
}

func TestAuditRetention(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	ages := []int{400, 100, 91, 89, 10, 0} // days
	setup := func(t *testing.T, opts postgres.AuditOptions) (*postgres.DB, *postgres.AuditStore, []int64) {
		db := MustOpen(t)
		store := newAuditStore(t, db, opts)
		for range ages {
			store.Record(ctx, sesame.AuditEvent{Action: sesame.AuditSignIn, ActorID: actorAda})
		}
		first := lastAuditID(t, db) - int64(len(ages)) + 1
		at := map[int64]time.Time{}
		var eventIDs []int64
		for i, d := range ages {
			at[first+int64(i)] = now.AddDate(0, 0, -d)
			eventIDs = append(eventIDs, first+int64(i))
		}
		setAuditTimes(t, db, at)
		return db, store, eventIDs
	}
	remaining := func(t *testing.T, store *postgres.AuditStore) []int64 {
		events, err := store.AuditEvents(ctx, sesame.AuditFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		got := auditIDs(events)
		slices.Reverse(got)
		return got
	}

	t.Run("sweep", func(t *testing.T) {
		days := 90
		_, store, eventIDs := setup(t, postgres.AuditOptions{RetentionDays: func() int { return days }})
		n, err := store.PruneAudit(ctx)
		if err != nil || n != 3 {
			t.Fatalf("PruneAudit = %d, %v; want 3", n, err)
		}
		if diff := cmp.Diff(eventIDs[3:], remaining(t, store)); diff != "" {
			t.Errorf("remaining (-want +got):\n%s", diff)
		}
		days = 5 // an admin shortens the retention while Sesame runs
		if n, err := store.PruneAudit(ctx); err != nil || n != 2 {
			t.Errorf("PruneAudit after the change = %d, %v; want 2", n, err)
		}
	})
	t.Run("zero keeps everything", func(t *testing.T) {
		_, store, eventIDs := setup(t, postgres.AuditOptions{RetentionDays: func() int { return 0 }, Rand: func() float64 { return 0 }})
		store.Record(ctx, sesame.AuditEvent{Action: sesame.AuditSignIn, ActorID: actorAda}) // would prune, if anything expired
		if n, err := store.PruneAudit(ctx); err != nil || n != 0 {
			t.Errorf("PruneAudit = %d, %v; want 0", n, err)
		}
		if got := remaining(t, store); len(got) != len(eventIDs)+1 {
			t.Errorf("%d events remain, want %d", len(got), len(eventIDs)+1)
		}
	})
	t.Run("default is 90 days", func(t *testing.T) {
		_, store, _ := setup(t, postgres.AuditOptions{})
		if n, err := store.PruneAudit(ctx); err != nil || n != 3 {
			t.Errorf("PruneAudit = %d, %v; want 3", n, err)
		}
	})
	t.Run("a write prunes a bounded batch when picked", func(t *testing.T) {
		var draws atomic.Int64
		pick := false
		db, store, eventIDs := setup(t, postgres.AuditOptions{PruneBatch: 2, Rand: func() float64 {
			draws.Add(1)
			if pick {
				return 0.005
			}
			return 0.5
		}})
		store.Record(ctx, sesame.AuditEvent{Action: sesame.AuditSignOut, ActorID: actorAda})
		if n := countAudit(t, db); n != len(ages)+1 {
			t.Fatalf("a write not picked pruned: %d events", n)
		}
		pick = true
		store.Record(ctx, sesame.AuditEvent{Action: sesame.AuditSignOut, ActorID: actorAda})
		got := remaining(t, store)
		if !slices.Equal(got[:len(ages)-2], eventIDs[2:]) || len(got) != len(ages) {
			t.Errorf("after a picked write: %v (events %v); the two oldest should have gone", got, eventIDs)
		}
		store.Record(ctx, sesame.AuditEvent{Action: sesame.AuditSignOut, ActorID: actorAda})
		if got := remaining(t, store); got[0] != eventIDs[3] {
			t.Errorf("after another: oldest is %d, want %d", got[0], eventIDs[3])
		}
		if draws.Load() != int64(len(ages)+3) {
			t.Errorf("Rand drawn %d times, want once per write", draws.Load())
		}
	})
	t.Run("disabled writes nothing", func(t *testing.T) {
		on := false
		db := MustOpen(t)
		store := newAuditStore(t, db, postgres.AuditOptions{Enabled: func() bool { return on }})
		store.Record(ctx, sesame.AuditEvent{Action: sesame.AuditSignIn, ActorID: actorAda})
		if n := countAudit(t, db); n != 0 {
			t.Fatalf("%d events written while disabled", n)
		}
		on = true // an admin turns it on while Sesame runs
		store.Record(ctx, sesame.AuditEvent{Action: sesame.AuditSignIn, ActorID: actorAda})
		if n := countAudit(t, db); n != 1 {
			t.Errorf("%d events after enabling, want 1", n)
		}
	})
}

// TestAuditPruneEvery: the daily sweep runs at once, then on its interval, and stops with its context.
func TestAuditPruneEvery(t *testing.T) {
	db := MustOpen(t)
	store := newAuditStore(t, db, postgres.AuditOptions{RetentionDays: func() int { return 1 }})
	insertAuditRows(t, db, 3)
	if _, err := db.Pool.Exec(context.Background(), `UPDATE audit_events SET at = now() - interval '2 days'`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- store.PruneEvery(ctx, 10*time.Millisecond) }()
	deadline := time.Now().Add(5 * time.Second)
	for countAudit(t, db) != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	insertAuditRows(t, db, 1)
	db.Pool.Exec(context.Background(), `UPDATE audit_events SET at = now() - interval '2 days'`)
	for countAudit(t, db) != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("PruneEvery = %v", err)
	}
	if n := countAudit(t, db); n != 0 {
		t.Errorf("%d expired events remain", n)
	}
}

// TestAuditRedactedAtWriteTime reads the rows back with SQL: no secret reaches the table.
func TestAuditRedactedAtWriteTime(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	store := newAuditStore(t, db, postgres.AuditOptions{})
	const (
		password = "correct horse battery staple"
		ghToken  = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
		apiKey   = "k-1234567890abcdef"
		anthKey  = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"
		patToken = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
	)
	secrets := []string{password, ghToken, apiKey, anthKey, patToken}
	store.Record(ctx, sesame.AuditEvent{Action: sesame.AuditAPIKeyCreated, ActorID: actorAda, ResourceType: sesame.ResourceAPIKey,
		ResourceID: "anthropic", UserAgent: "curl/8 (Authorization: Bearer " + ghToken + ")",
		Payload: map[string]any{
			"password": password,
			"token":    ghToken,
			"api_key":  apiKey,
			"provider": "anthropic",
			"nested": map[string]any{
				"Password": password,
				"list":     []any{map[string]any{"apiKey": apiKey}, "see " + patToken},
				"headers":  map[string]string{"Authorization": "token " + ghToken},
			},
			"note":    "pasted " + anthKey + " by mistake", // a token under an innocent key
			"comment": ghToken,
		}})
	var payload, userAgent, resourceID string
	if err := db.Pool.QueryRow(ctx, `SELECT payload::text, user_agent, resource_id FROM audit_events`).Scan(&payload, &userAgent, &resourceID); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		for col, text := range map[string]string{"payload": payload, "user_agent": userAgent, "resource_id": resourceID} {
			if strings.Contains(text, s) {
				t.Errorf("%s holds %q: %s", col, s, text)
			}
		}
	}
	for _, keep := range []string{`"provider": "anthropic"`, `"note": "pasted [REDACTED] by mistake"`, `"password": "[REDACTED]"`} {
		if !strings.Contains(payload, keep) {
			t.Errorf("payload lacks %s: %s", keep, payload)
		}
	}
}
