package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/internal/proctest"
)

// TestWorkerRunsManyTasksAtOnce runs WORKER_CONCURRENCY=n on one Sesame process: n requests, on n
// issues, each run by the real Claude Code in its sandbox, all held by the model server in their
// first turn at once. Sesame's own cost per running task (its process: resident memory and Go heap,
// goroutines; not the agents') is measured at 10 and at n running tasks: each task adds the same
// number of goroutines, and the memory stays under 10 MiB. A stop reaches one of them while the
// others run; released, the others end and no agent is left. n is CONCURRENCY_TASKS, 20 unless set:
// the issue's figure is for 50 (CONCURRENCY_TASKS=50, about 3 minutes here, twice that under CI's
// load, where 50 Node.js CLIs starting at once on 2 cores are most of the test).
func TestWorkerRunsManyTasksAtOnce(t *testing.T) {
	n := 20
	if s := os.Getenv("CONCURRENCY_TASKS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	const first = 10
	if n <= first {
		t.Fatalf("CONCURRENCY_TASKS=%d: need more than %d", n, first)
	}
	gh := githubtest.NewServer(t)
	fixture(t, gh)
	hold := make(chan struct{})
	released := false
	release := func() {
		if !released {
			released = true
			close(hold)
		}
	}
	t.Cleanup(release)
	steps := make([]modeltest.Step, n)
	for i := range steps {
		steps[i] = modeltest.Step{Hold: hold, Text: "Nothing needs to change."}
	}
	model := modeltest.NewServer(t, steps...)
	const token = "concurrency-metrics-token-0123456789"
	env, taskBase := workerEnv(t, gh, model, "WORKER_CONCURRENCY="+strconv.Itoa(n), "METRICS_TOKEN="+token,
		"LOG_LEVEL=info") // debug would log each agent line of fifty agents
	dbURL := envValue(env, "DATABASE_URL")
	p := startSesame(t, env)
	pid := p.cmd.Process.Pid

	held := func() int {
		k := 0
		for _, r := range model.Requests() {
			if r.Step >= 0 {
				k++
			}
		}
		return k
	}
	ids := map[int]string{} // issue → task
	submit := func(from, to int) {
		for issue := from; issue <= to; issue++ {
			body := fmt.Sprintf("/sesame look at issue %d", issue)
			c := gh.AddComment(githubtest.Comment{Repo: repo, IssueNumber: issue, User: "alice", Body: body})
			code, resp := deliver(t, p, "fifty-"+strconv.Itoa(issue), issueComment(t, "alice", body, issue, c.ID))
			if code != http.StatusAccepted {
				t.Fatalf("issue %d: webhook answered %d %v", issue, code, resp)
			}
			ids[issue] = resp["task_id"]
		}
	}
	type usage struct {
		goroutines      int
		rssKiB, heapKiB float64
	}
	// measure lets the process settle, then reads its goroutines and Go heap (its metrics) and its
	// resident memory.
	measure := func() usage {
		time.Sleep(3 * time.Second)
		_, families := scrape(t, "http://"+p.addr+"/metrics", "Bearer "+token)
		var u usage
		if m := sample(families, "go_goroutines", nil); m != nil {
			u.goroutines = int(m.GetGauge().GetValue())
		}
		if m := sample(families, "go_memstats_heap_inuse_bytes", nil); m != nil {
			u.heapKiB = m.GetGauge().GetValue() / 1024
		}
		rss, err := procStatusKiB(pid, "VmRSS")
		if err != nil || u.goroutines == 0 || u.heapKiB == 0 {
			t.Fatalf("measure sesame: rss %d (%v), metrics %d goroutines, %.0f KiB heap", rss, err, u.goroutines, u.heapKiB)
		}
		u.rssKiB = float64(rss)
		return u
	}

	idle := measure()
	start := time.Now()
	submit(1, first)
	waitForWithin(t, fmt.Sprintf("%d agents in their first turn", first), 3*time.Minute, func() bool { return held() >= first })
	ten := measure()
	submit(first+1, n)
	waitForWithin(t, fmt.Sprintf("%d agents in their first turn", n), 6*time.Minute, func() bool { return held() >= n })
	all := time.Since(start)
	full := measure()
	if running := countRows(t, dbURL, runningTasks); running != n {
		t.Fatalf("%d tasks running, want %d", running, n)
	}

	per := func(a, b usage, tasks int) (g, rss, heap float64) {
		k := float64(tasks)
		return float64(b.goroutines-a.goroutines) / k, (b.rssKiB - a.rssKiB) / k, (b.heapKiB - a.heapKiB) / k
	}
	g10, rss10, heap10 := per(idle, ten, first)
	gMore, rssMore, heapMore := per(ten, full, n-first)
	_, rssAll, heapAll := per(idle, full, n)
	pickup := pickUps(t, dbURL)
	t.Logf("%d tasks at once on one worker: all %d agents in their first turn %.1f s after the first request; "+
		"queued → running p50 %.2f s, max %.2f s", n, n, all.Seconds(), pickup[len(pickup)/2].Seconds(), pickup[len(pickup)-1].Seconds())
	t.Logf("sesame process: idle %d goroutines, %.1f MiB resident, %.1f MiB heap; %d tasks: %d, %.1f MiB, %.1f MiB; %d tasks: %d, %.1f MiB, %.1f MiB",
		idle.goroutines, idle.rssKiB/1024, idle.heapKiB/1024, first, ten.goroutines, ten.rssKiB/1024, ten.heapKiB/1024,
		n, full.goroutines, full.rssKiB/1024, full.heapKiB/1024)
	t.Logf("per running task: %.1f goroutines (first %d), %.1f (the next %d); resident %.0f KiB, heap %.0f KiB (first %d: %.0f, %.0f; next %d: %.0f, %.0f)",
		g10, first, gMore, n-first, rssAll, heapAll, first, rss10, heap10, n-first, rssMore, heapMore)
	// A task's own goroutines are fixed; pools (connections to PostgreSQL, Redis, GitHub) grow by a few
	// as the work does, shared by all.
	if math.Abs(g10-gMore) > 1 || gMore > 20 {
		t.Errorf("goroutines per running task: %.1f for the first %d, %.1f for the next %d; want the same, at most 20",
			g10, first, gMore, n-first)
	}
	if total := full.rssKiB - idle.rssKiB; total > 10*1024 {
		t.Errorf("sesame's resident memory grew by %.1f MiB for %d running tasks, want under 10 MiB", total/1024, n)
	}

	// A stop reaches one task among the fifty.
	const stopped = 7
	body := "/sesame stop"
	c := gh.AddComment(githubtest.Comment{Repo: repo, IssueNumber: stopped, User: "alice", Body: body})
	asked := time.Now()
	if code, resp := deliver(t, p, "fifty-stop", issueComment(t, "alice", body, stopped, c.ID)); code != http.StatusAccepted && code != http.StatusOK {
		t.Fatalf("stop: webhook answered %d %v", code, resp)
	}
	if status, reason := waitEnded(t, dbURL, ids[stopped], time.Minute); status != "stopped" {
		t.Fatalf("the stopped task ended %s: %s", status, reason)
	}
	t.Logf("stop with %d tasks running: the task was stopped %.2f s after the comment", n, time.Since(asked).Seconds())
	if running := countRows(t, dbURL, runningTasks); running != n-1 {
		t.Errorf("%d tasks still running after one stop, want %d", running, n-1)
	}

	// Released, every task ends. Under CI's load, with every agent answered at once, Claude Code has
	// been seen to exit without its result (1 of 49): counted and logged, since what this test
	// measures is Sesame, but a second such failure fails it.
	release()
	failed := 0
	for issue, id := range ids {
		if issue == stopped {
			continue
		}
		if status, reason := waitEnded(t, dbURL, id, 3*time.Minute); status != "completed" {
			failed++
			t.Logf("task of issue %d ended %s: %s", issue, status, reason)
		}
	}
	if failed > 1 {
		t.Errorf("%d of %d released tasks did not complete", failed, n-1)
	}
	waitForWithin(t, "every agent to end", 30*time.Second, func() bool { return len(proctest.Under(taskBase)) == 0 })
}

const runningTasks = `SELECT count(*) FROM tasks WHERE status = 'running'`

// issueComment is the example issue_comment payload for the comment with id on issue number.
func issueComment(t *testing.T, login, body string, number int, id int64) []byte {
	t.Helper()
	var p map[string]any
	json.Unmarshal(commentWithID(t, login, body, id), &p)
	p["issue"].(map[string]any)["number"] = number
	out, _ := json.Marshal(p)
	return out
}

// pickUps returns, sorted, how long each run task took from stored to running.
func pickUps(t *testing.T, dbURL string) []time.Duration {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(context.Background(), `SELECT min(e.created_at) - t.created_at FROM tasks t
		JOIN task_events e ON e.task_id = t.id AND e.type = 'status' AND e.message = 'running'
		WHERE t.kind = 'run' GROUP BY t.id, t.created_at`)
	out, err := pgx.CollectRows(rows, pgx.RowTo[time.Duration])
	if err != nil || len(out) == 0 {
		t.Fatalf("pick-up times: %v (%d)", err, len(out))
	}
	slices.Sort(out)
	return out
}
