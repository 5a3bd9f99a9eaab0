package postgres_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/postgres"
)

// The audit log at a million events: pages with every kind of filter, the export, and writes.
//
//	scripts/test -run '^$' -bench BenchmarkAudit ./postgres
//
// Each page benchmark reports the p50 and p99 latency of one page (50 events) in ms; the goal is a
// p99 under 50 ms. The parent creates the rows once (INSERT … SELECT generate_series: 90 days, the 28
// actions, 1,000 actors) and ANALYZEs them, as autovacuum would.

const (
	benchRows   = 1_000_000
	benchActors = 1000
	benchDays   = 90
)

func benchActor(i int) string { return fmt.Sprintf("018f0000-0000-7000-8000-%012d", i) }

// seedAudit writes benchRows events, their times following their ids over benchDays up to now. The
// secondary indexes are dropped first and built again after, from their own definitions: building
// an index over a million rows takes a second, updating it row by row far longer.
func seedAudit(b *testing.B, db *postgres.DB) {
	b.Helper()
	ctx := context.Background()
	actions := make([]string, len(sesame.AuditActions))
	for i, a := range sesame.AuditActions {
		actions[i] = string(a)
	}
	start := time.Now()
	rows, _ := db.Pool.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE tablename = 'audit_events' AND indexname <> 'audit_events_pkey'`)
	indexes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Name, Def string }])
	if err != nil || len(indexes) == 0 {
		b.Fatalf("audit indexes: %v, %v", indexes, err)
	}
	for _, ix := range indexes {
		mustExec(b, db, `DROP INDEX `+pgx.Identifier{ix.Name}.Sanitize())
	}
	mustExec(b, db, `
		INSERT INTO audit_events (at, actor_id, actor_email, action, resource_type, resource_id, ip, user_agent, payload)
		SELECT now() - make_interval(days => $2) + (g * make_interval(days => $2) / $1),
			CASE WHEN a LIKE 'task_%' AND g % 2 = 0 THEN 'system' ELSE '018f0000-0000-7000-8000-' || lpad(u::text, 12, '0') END,
			'user' || u || '@example.com', a,
			CASE WHEN a LIKE 'task_%' THEN 'task' WHEN a LIKE 'session_%' THEN 'session' WHEN a LIKE 'api_key_%' THEN 'api_key'
				WHEN a LIKE 'agent_credential_%' THEN 'agent_credential' WHEN a LIKE 'pat_%' THEN 'pat'
				WHEN a LIKE 'user_%' THEN 'user' ELSE 'setting' END,
			g::text, '10.0.' || (g % 250) || '.' || (g / 250 % 250),
			'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
			'{"repo": "octo/hello", "source": "web", "reason": "benchmark"}'
		FROM generate_series(1, $1) AS g,
			LATERAL (SELECT abs(hashint4(g)) % $3 AS u, ($4::text[])[1 + abs(hashint4(g + 7)) % cardinality($4::text[])] AS a) AS pick`,
		benchRows, benchDays, benchActors, actions)
	inserted := time.Since(start)
	for _, ix := range indexes {
		mustExec(b, db, ix.Def)
	}
	mustExec(b, db, `VACUUM ANALYZE audit_events`)
	b.Logf("seeded %d audit events in %v: %v to insert, the rest to index, vacuum and analyze", benchRows,
		time.Since(start).Round(time.Millisecond), inserted.Round(time.Millisecond))
}

func mustExec(b *testing.B, db *postgres.DB, sql string, args ...any) {
	b.Helper()
	if _, err := db.Pool.Exec(context.Background(), sql, args...); err != nil {
		b.Fatal(err)
	}
}

// latencies measures each call of op and reports their p50 and p99 in ms, and the mean of what op
// returns (the rows of a page) as rowsUnit unless it is "".
func latencies(b *testing.B, rowsUnit string, op func() int) {
	b.Helper()
	d := make([]time.Duration, 0, b.N)
	rows := 0
	b.ResetTimer()
	for b.Loop() {
		t := time.Now()
		rows += op()
		d = append(d, time.Since(t))
	}
	b.StopTimer()
	slices.Sort(d)
	pct := func(p float64) float64 { return float64(d[int(float64(len(d)-1)*p)]) / float64(time.Millisecond) }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	if rowsUnit != "" {
		b.ReportMetric(float64(rows)/float64(len(d)), rowsUnit)
	}
}

func BenchmarkAudit(b *testing.B) {
	ctx := context.Background()
	db := MustOpen(b)
	seedAudit(b, db)
	store := postgres.NewAuditStore(db, postgres.AuditOptions{Rand: never})
	var first, last int64
	var oldest time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT min(id), max(id), min(at) FROM audit_events`).Scan(&first, &last, &oldest); err != nil {
		b.Fatal(err)
	}
	day := 24 * time.Hour
	rng := rand.New(rand.NewPCG(1, 2))
	action := func() sesame.AuditAction { return sesame.AuditActions[rng.IntN(len(sesame.AuditActions))] }
	resource := func() string { return sesame.ResourceTypes[rng.IntN(len(sesame.ResourceTypes))] }
	actor := func() string { return benchActor(rng.IntN(benchActors)) }
	deep := func() int64 { return first + rng.Int64N(last-first) } // anywhere in the log
	// a day somewhere in the 90 days, the date filter's unit (the page sends whole UTC days)
	someDay := func(days int) (time.Time, time.Time) {
		s := oldest.Truncate(day).Add(time.Duration(rng.IntN(benchDays-days+1)) * day)
		return s, s.Add(time.Duration(days) * day)
	}

	pages := []struct {
		name   string
		filter func() sesame.AuditFilter
	}{
		{"none", func() sesame.AuditFilter { return sesame.AuditFilter{} }},
		{"none/deep", func() sesame.AuditFilter { return sesame.AuditFilter{Before: deep()} }},
		{"action", func() sesame.AuditFilter { return sesame.AuditFilter{Action: action()} }},
		{"action/deep", func() sesame.AuditFilter { return sesame.AuditFilter{Action: action(), Before: deep()} }},
		{"user", func() sesame.AuditFilter { return sesame.AuditFilter{UserID: actor()} }},
		{"user/deep", func() sesame.AuditFilter { return sesame.AuditFilter{UserID: actor(), Before: deep()} }},
		{"resource_type", func() sesame.AuditFilter { return sesame.AuditFilter{ResourceType: resource()} }},
		{"resource_type/deep", func() sesame.AuditFilter { return sesame.AuditFilter{ResourceType: resource(), Before: deep()} }},
		{"date/1day", func() sesame.AuditFilter { s, e := someDay(1); return sesame.AuditFilter{Start: s, End: e} }},
		{"date/7days", func() sesame.AuditFilter { s, e := someDay(7); return sesame.AuditFilter{Start: s, End: e} }},
		{"date/7days/deep", func() sesame.AuditFilter {
			s, e := someDay(7)
			return sesame.AuditFilter{Start: s, End: e, Before: deep()}
		}},
		{"date/start_only", func() sesame.AuditFilter { s, _ := someDay(1); return sesame.AuditFilter{Start: s} }},
		{"date/end_only", func() sesame.AuditFilter { _, e := someDay(1); return sesame.AuditFilter{End: e} }},
		{"action+user", func() sesame.AuditFilter { return sesame.AuditFilter{Action: action(), UserID: actor()} }},
		{"action+resource_type", func() sesame.AuditFilter { return sesame.AuditFilter{Action: action(), ResourceType: resource()} }},
		{"action+date/7days", func() sesame.AuditFilter {
			s, e := someDay(7)
			return sesame.AuditFilter{Action: action(), Start: s, End: e}
		}},
		{"user+date/30days", func() sesame.AuditFilter {
			s, e := someDay(30)
			return sesame.AuditFilter{UserID: actor(), Start: s, End: e}
		}},
		{"all/1day", func() sesame.AuditFilter {
			s, e := someDay(1)
			return sesame.AuditFilter{Action: action(), ResourceType: resource(), UserID: actor(), Start: s, End: e}
		}},
		{"all/system/mismatched", func() sesame.AuditFilter {
			// the largest actor, an action of its own, a resource type that never goes with it
			return sesame.AuditFilter{Action: sesame.AuditTaskStarted, ResourceType: sesame.ResourceUser, UserID: sesame.ActorSystem}
		}},
		{"user+resource_type", func() sesame.AuditFilter { return sesame.AuditFilter{ResourceType: resource(), UserID: actor()} }},
		{"action+user+date/deep", func() sesame.AuditFilter {
			s, e := someDay(30)
			return sesame.AuditFilter{Action: action(), UserID: actor(), Start: s, End: e, Before: deep()}
		}},
		{"tail", func() sesame.AuditFilter { return sesame.AuditFilter{After: last - int64(rng.IntN(20))} }},
		{"tail+action", func() sesame.AuditFilter { return sesame.AuditFilter{After: last - 1000, Action: action()} }},
	}
	for _, p := range pages {
		b.Run("page/"+p.name, func(b *testing.B) {
			latencies(b, "rows/page", func() int {
				f := p.filter()
				f.Limit = 51 // as the page asks: one more tells whether there is an older page
				events, err := store.AuditEvents(ctx, f)
				if err != nil {
					b.Fatal(err)
				}
				return len(events)
			})
		})
	}

	b.Run("export/csv", func(b *testing.B) {
		b.ReportAllocs()
		var peak uint64
		var ms runtime.MemStats
		rows := 0
		// The process's peak RSS is reset here (Linux: 5 > clear_refs), so VmHWM afterwards is the
		// export's, the database's rows included as the client holds them.
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			rows = 0
			out := admin.NewAuditCSV(io.Discard)
			err := store.ExportAudit(ctx, sesame.AuditFilter{}, func(e sesame.AuditEvent) error {
				if rows++; rows%100_000 == 0 {
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
				}
				return out.Write(e)
			})
			if err == nil {
				err = out.Flush()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if rows != benchRows {
			b.Fatalf("exported %d rows, want %d", rows, benchRows)
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/export")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(vmHWM(b))/1024, "peak-RSS-MB")
	})

	event := sesame.AuditEvent{ActorID: benchActor(1), ActorEmail: "user1@example.com", Action: sesame.AuditSignIn,
		ResourceType: sesame.ResourceUser, ResourceID: benchActor(1), IP: "203.0.113.9",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		Payload:   map[string]any{"method": "password", "email": "user1@example.com", "password": "hunter2", "next": "/tasks"}}
	b.Run("record", func(b *testing.B) {
		// As deployed: 1 % of writes prune, nothing has expired (90 days kept).
		s := postgres.NewAuditStore(db, postgres.AuditOptions{})
		latencies(b, "", func() int { s.Record(ctx, event); return 0 })
	})
	b.Run("record/pruning", func(b *testing.B) {
		// The worst write: the retention just went from 90 to 30 days (two thirds of the log expired),
		// and this write is one of those that prune (every one, here): it deletes up to 500 events.
		s := postgres.NewAuditStore(db, postgres.AuditOptions{RetentionDays: func() int { return 30 }, Rand: func() float64 { return 0 }})
		latencies(b, "", func() int { s.Record(ctx, event); return 0 })
	})
	b.Run("prune/sweep", func(b *testing.B) {
		// The daily sweep deleting what is left of that backlog, 5,000 events a statement.
		s := postgres.NewAuditStore(db, postgres.AuditOptions{RetentionDays: func() int { return 30 }})
		var n int64
		for b.Loop() {
			deleted, err := s.PruneAudit(ctx)
			if err != nil {
				b.Fatal(err)
			}
			n += deleted
		}
		b.ReportMetric(float64(n)/float64(b.N), "deleted/op")
	})
}

// vmHWM returns the process's peak resident set size in KiB since it was last reset.
func vmHWM(b *testing.B) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
