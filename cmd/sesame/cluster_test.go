package main_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/internal/sandboxtest"
)

// TestClusterTwoWebThreeWorkers runs Sesame as several nodes would: two web processes and three
// worker processes, each worker with task folders of its own, on one PostgreSQL and one Redis, all
// real processes of the binary.
//
//   - The model's key and address are saved on the settings page of one web node, and every worker
//     runs its agents with them (no process has them in its environment).
//   - Requests delivered to either web node spread across the three workers (2 slots each) and all
//     end; their rate is compared with one process doing both (see clusterThroughput).
//   - A viewer on the other web node sees a task go running and then stopped live; the stop, a
//     comment delivered to that other node, reaches whichever worker runs the task.
//   - A worker killed with SIGKILL while its agent runs: another worker resumes the task, which ends.
func TestClusterTwoWebThreeWorkers(t *testing.T) {
	gh := githubtest.NewServer(t)
	fixture(t, gh)
	model := modeltest.NewServer(t) // every turn: "done", at once
	env := append(baseEnv(t, gh), "AGENTS_DIR="+agentsDir(t), "WORKER_CONCURRENCY=2", "LOG_LEVEL=info")
	dbURL := envValue(env, "DATABASE_URL")
	webs := []*process{startSesame(t, env, "--role", "web"), startSesame(t, env, "--role", "web")}
	workers := map[int]*process{} // by pid
	for range 3 {
		w := startSesame(t, append(env, "TASK_DIR_BASE="+sandboxtest.TaskBase(t)), "--role", "worker")
		workers[w.cmd.Process.Pid] = w
	}

	// Settings saved on the second web node reach every worker.
	cookie := setUpAdmin(t, "http://"+webs[0].addr)
	saveSettings(t, "http://"+webs[1].addr, cookie, url.Values{"group": {"agents"},
		"s:agents.anthropicApiKey": {anthropicKey}, "s:agents.anthropicBaseUrl": {model.URL}})

	// Throughput, and the spread of the tasks over the workers.
	n := clusterTasks(t)
	took := runTasks(t, gh, webs, dbURL, 1, n)
	t.Logf("2 web + 3 worker processes (2 slots each): %d tasks in %.1f s, %.1f tasks/min", n, took.Seconds(), float64(n)/took.Minutes())
	byWorker := tasksByWorker(t, dbURL)
	if len(byWorker) != 3 {
		t.Errorf("tasks by worker: %v; want all three workers to have run some", byWorker)
	}
	t.Logf("tasks by worker: %v", byWorker)

	// A viewer on the other web node follows a task live; a stop delivered there reaches its worker.
	hold := make(chan struct{})
	defer close(hold)
	model.SetSteps(modeltest.Step{Hold: hold})
	id := deliverIssue(t, gh, webs[0], 101, "/sesame look at the cluster")
	live := followTask(t, "http://"+webs[1].addr, cookie, id)
	waitLive(t, live, `"status":"running"`, 3*time.Minute)
	c := gh.AddComment(githubtest.Comment{Repo: repo, IssueNumber: 101, User: "alice", Body: "/sesame stop"})
	asked := time.Now()
	if code, resp := deliver(t, webs[1], "cluster-stop", issueComment(t, "alice", "/sesame stop", 101, c.ID)); code != http.StatusAccepted {
		t.Fatalf("stop: webhook answered %d %v", code, resp)
	}
	waitLive(t, live, `"status":"stopped"`, time.Minute)
	t.Logf("stop delivered to the other web node: the viewer there saw the task stopped %.2f s later", time.Since(asked).Seconds())

	// A worker that dies mid-task: another one resumes the task.
	model.SetSteps(modeltest.Step{Hold: hold})
	id = deliverIssue(t, gh, webs[1], 102, "/sesame look at the cluster again")
	waitForWithin(t, "the agent's first turn", 3*time.Minute, func() bool {
		for _, r := range model.Requests() {
			if r.Step == 0 {
				return true
			}
		}
		return false
	})
	owner := workerOf(t, dbURL, id)
	victim := workers[owner]
	if victim == nil {
		t.Fatalf("task %s runs on worker pid %d, not one of %v", id, owner, workers)
	}
	killed := time.Now()
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.done <- <-victim.done
	model.SetSteps() // the resumed agent's turns: "done", at once
	if status, reason := waitEnded(t, dbURL, id, 3*time.Minute); status != "completed" {
		t.Fatalf("the dead worker's task ended %s: %s", status, reason)
	}
	resumed, ok := stepMessages(t, dbURL, id)["resumed"]
	if !ok {
		t.Fatal("the dead worker's task was not resumed")
	}
	if now := workerOf(t, dbURL, id); now == owner {
		t.Errorf("the task ended on the worker that was killed (pid %d)", owner)
	}
	t.Logf("worker killed mid-task: another resumed the task %.1f s after the kill", resumed.Sub(killed).Seconds())
}

// TestClusterOneProcessThroughput is TestClusterTwoWebThreeWorkers' throughput through one process
// that is web and worker at once, with the same 6 slots, for the comparison.
func TestClusterOneProcessThroughput(t *testing.T) {
	gh := githubtest.NewServer(t)
	fixture(t, gh)
	model := modeltest.NewServer(t)
	env, _ := workerEnv(t, gh, model, "WORKER_CONCURRENCY=6", "LOG_LEVEL=info")
	p := startSesame(t, env)
	n := clusterTasks(t)
	took := runTasks(t, gh, []*process{p}, envValue(env, "DATABASE_URL"), 1, n)
	t.Logf("1 process (6 slots): %d tasks in %.1f s, %.1f tasks/min", n, took.Seconds(), float64(n)/took.Minutes())
}

// clusterTasks is how many tasks the throughput runs send: CLUSTER_TASKS, 12 unless set.
func clusterTasks(t *testing.T) int {
	n := 12
	if s := os.Getenv("CLUSTER_TASKS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("CLUSTER_TASKS=%q: want a positive whole number", s)
		}
	}
	return n
}

// runTasks delivers a request on each issue from first to last, to the web nodes in turn, and returns
// how long it took until every task ended completed.
func runTasks(t *testing.T, gh *githubtest.Server, webs []*process, dbURL string, first, last int) time.Duration {
	t.Helper()
	start := time.Now()
	var ids []string
	for issue := first; issue <= last; issue++ {
		ids = append(ids, deliverIssue(t, gh, webs[issue%len(webs)], issue, fmt.Sprintf("/sesame look at issue %d", issue)))
	}
	for _, id := range ids {
		if status, reason := waitEnded(t, dbURL, id, 5*time.Minute); status != "completed" {
			t.Fatalf("task %s ended %s: %s", id, status, reason)
		}
	}
	return time.Since(start)
}

// deliverIssue posts alice's comment body on issue and delivers it to p; it returns the task's id.
func deliverIssue(t *testing.T, gh *githubtest.Server, p *process, issue int, body string) string {
	t.Helper()
	c := gh.AddComment(githubtest.Comment{Repo: repo, IssueNumber: issue, User: "alice", Body: body})
	code, resp := deliver(t, p, "cluster-"+strconv.Itoa(issue), issueComment(t, "alice", body, issue, c.ID))
	if code != http.StatusAccepted || resp["task_id"] == "" {
		t.Fatalf("issue %d: webhook answered %d %v", issue, code, resp)
	}
	return resp["task_id"]
}

// setUpAdmin creates the first admin on base and returns the session cookie.
func setUpAdmin(t *testing.T, base string) *http.Cookie { return fanoutSetUp(t, base) }

// saveSettings posts form to base's settings page as the admin of cookie.
func saveSettings(t *testing.T, base string, cookie *http.Cookie, form url.Values) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/admin/settings", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(cookie)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save settings on %s: %s", base, resp.Status)
	}
}

// followTask opens the live events of task id on base and returns their data lines as they come.
func followTask(t *testing.T, base string, cookie *http.Cookie, id string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/tasks/"+id+"/events", nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("follow task %s on %s: %s", id, base, resp.Status)
	}
	lines := make(chan string, 1024)
	go func() {
		defer resp.Body.Close()
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				lines <- data
			}
		}
	}()
	return lines
}

// waitLive reads live until a data line holds want.
func waitLive(t *testing.T, live <-chan string, want string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case data, ok := <-live:
			if !ok {
				t.Fatalf("the event stream ended before %s", want)
			}
			if strings.Contains(data, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %s on the event stream within %s", want, within)
		}
	}
}

// tasksByWorker counts the run tasks each worker ran, by the pid in its worker id.
func tasksByWorker(t *testing.T, dbURL string) map[int]int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(context.Background(), `SELECT worker_id FROM tasks WHERE kind = 'run'`)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int{}
	for _, w := range ids {
		out[workerPID(w)]++
	}
	return out
}

// workerOf returns the pid of the worker that holds (or last held) task id.
func workerOf(t *testing.T, dbURL, id string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var w string
	conn.QueryRow(context.Background(), `SELECT worker_id FROM tasks WHERE id = $1`, id).Scan(&w)
	return workerPID(w)
}

// workerPID reads the pid out of a worker id (host/pid/random); 0 when there is none.
func workerPID(workerID string) int {
	parts := strings.Split(workerID, "/")
	if len(parts) != 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[1])
	return pid
}
