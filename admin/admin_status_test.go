package admin_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
)

// fakeStatus is a StatusSource that answers what it was given, and remembers that it was asked.
type fakeStatus struct {
	mu     sync.Mutex
	status admin.Status
	asked  int
}

func (f *fakeStatus) Status(ctx context.Context) admin.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	return f.status
}

var _ admin.StatusSource = (*fakeStatus)(nil)

// healthyStatus is a deployment of a web node and a worker node, everything up.
func healthyStatus() admin.Status {
	at := time.Now()
	return admin.Status{
		At: at,
		Checks: []admin.Check{
			{Name: "PostgreSQL", OK: true, Latency: 1500 * time.Microsecond, Detail: "answers"},
			{Name: "Redis", OK: true, Latency: 700 * time.Microsecond, Detail: "answers"},
			{Name: "Database schema", OK: true, Detail: "version 6, as this binary expects"},
		},
		Nodes: []admin.NodeStatus{
			{ID: "web-1/10/aa", Role: "web", Version: "v1.4.0", Hostname: "web-1", PID: 10, GoVersion: "go1.26.8",
				StartedAt: at.Add(-(2*time.Hour + 5*time.Minute)), LastSeen: at.Add(-3 * time.Second)},
			{ID: "box-2/20/bb", Role: "worker", Version: "0123456789ab-dirty", Hostname: "box-2", PID: 20, GoVersion: "go1.26.8",
				StartedAt: at.Add(-90 * time.Second), LastSeen: at.Add(-time.Second),
				Worker: &admin.WorkerStatus{WorkerID: "box-2/20/cafe", SandboxProvider: "local", Isolation: true,
					IsolationDetail: "bubblewrap, Landlock ABI 6 and seccomp work", IsolationCheckedAt: at.Add(-time.Minute),
					RunningTasks: 2, TaskDir: "/srv/sesame", FreeBytes: 2 << 30, MirrorBytes: 5 << 20, MirrorMeasuredAt: at.Add(-30 * time.Second),
					MirrorBudget: 20 << 30, MirrorEvictedAt: at.Add(-2 * time.Minute), MirrorEvicted: 2, MirrorEvictedBytes: 300 << 20}},
		},
		Queues: []admin.QueueStatus{{Name: "default", Pending: 3, Active: 2, Scheduled: 1, Retry: 4, Archived: 5,
			ProcessedToday: 42, FailedToday: 7, Latency: 1500 * time.Millisecond}},
		Workers: []admin.WorkerLoad{{WorkerID: "box-2/20/cafe", Running: 2}, {WorkerID: "gone-3/30/dead", Running: 1, Expired: 1}},
	}
}

// TestAdminHomeOnlyForAdmins: an anonymous visitor is sent to sign in, a signed-in user who is not an
// admin gets the same 404 as a page that does not exist, and the source is not even asked.
func TestAdminHomeOnlyForAdmins(t *testing.T) {
	e := newEnv(t)
	src := &fakeStatus{status: healthyStatus()}
	srv := e.serve(t, func(o *admin.Options) { o.Status = src })
	e.setUp(t)
	anon := e.clientOf(t, srv)
	if r := anon.get("/admin"); r.status != http.StatusSeeOther || r.location != "/login?next=%2Fadmin" {
		t.Errorf("anonymous GET /admin: %d → %q", r.status, r.location)
	}
	user, _ := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	user.base = srv.URL // the same session store: Bob is signed in on srv too
	r := user.mustStatus(user.get("/admin"), http.StatusNotFound, "user GET /admin")
	if !strings.Contains(r.body, "There is no page at this address.") || strings.Contains(r.body, "System status") {
		t.Errorf("a user's /admin is not the plain 404 page:\n%s", snippet(r.body))
	}
	if src.asked != 0 {
		t.Errorf("the status source was asked %d times for people who may not see it", src.asked)
	}
}

func TestAdminHomeShowsNodesChecksAndQueues(t *testing.T) {
	e := newEnv(t)
	src := &fakeStatus{status: healthyStatus()}
	srv := e.serve(t, func(o *admin.Options) { o.Status = src })
	c := e.setUp(t)
	c.base = srv.URL
	r := c.mustStatus(c.get("/admin"), http.StatusOK, "admin GET /admin")
	if src.asked != 1 {
		t.Errorf("source asked %d times, want 1", src.asked)
	}
	body := r.body
	for _, want := range []string{
		// The overview's links.
		`href="/admin/settings"`, `href="/admin/users"`, `href="/admin/sandbox"`, `href="/admin/audit"`,
		// The checks, green, with their latency.
		`data-healthy="true"`, "Every check passed.",
		`<td>PostgreSQL</td>`, `<td>1.5 ms</td>`, `<td>Redis</td>`, `<td>0.7 ms</td>`, `data-check="ok">OK</span>`,
		"version 6, as this binary expects",
		// Each node.
		`data-node="web-1/10/aa"`, `<td>web</td>`, `<code>v1.4.0</code>`, `<td>web-1</td>`, `<td>10</td>`, `>2h 5m</td>`, `<td>3s ago</td>`, `<td>go1.26.8</td>`,
		`data-node="box-2/20/bb"`, `<td>worker</td>`, `<code>0123456789ab-dirty</code>`, `>1m 30s</td>`,
		// What the worker reports.
		`data-worker="box-2/20/cafe"`, `<td>local</td>`, `data-isolation="available">available</span>`,
		"bubblewrap, Landlock ABI 6 and seccomp work (checked 1m 0s ago)", `<td>2</td>`, `<code>/srv/sesame</code>`,
		`<td>2.0 GiB</td>`, `<td>5.0 MiB (measured 30s ago)<br>`,
		// The mirror cache's budget and its last eviction.
		`data-mirror-budget>budget 20.0 GiB</small>`, `data-mirror-evicted>last evicted 2 repositories, 300.0 MiB, 2m 0s ago</small>`,
		// Tasks in progress by worker, the one without a node flagged.
		`data-load="box-2/20/cafe"`, `<td><code>box-2/20/bb</code></td>`,
		`data-load="gone-3/30/dead"`, "not listed</span>",
		// The queue.
		`data-queue="default"`, `<td>3</td>`, `<td>4</td>`, `<td>5</td>`, `<td>42</td>`, `status-failed">7</span>`, `<td>1.5s</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/admin lacks %q", want)
		}
	}
	if strings.Contains(body, "Failing") || strings.Contains(body, "could not") {
		t.Errorf("a healthy deployment shows a failure:\n%s", snippet(body))
	}
	// Nodes are shown in the source's order.
	if strings.Index(body, `data-node="web-1/10/aa"`) > strings.Index(body, `data-node="box-2/20/bb"`) {
		t.Error("nodes are not shown in the source's order")
	}
}

// TestAdminHomeSaysWhatFails: failed checks, a registry or queue that cannot be read, and measurements
// a worker could not take are said in words, in red, on a page that still answers 200.
func TestAdminHomeSaysWhatFails(t *testing.T) {
	e := newEnv(t)
	st := healthyStatus()
	st.Checks[1] = admin.Check{Name: "Redis", OK: false, Detail: "no answer within 2s"}
	st.Nodes = nil
	st.NodesErr = "Redis did not answer within 2s"
	st.Queues = nil
	st.QueuesErr = "Redis did not answer within 2s"
	st.Workers = nil
	st.WorkersErr = "the database is unreachable"
	src := &fakeStatus{status: st}
	srv := e.serve(t, func(o *admin.Options) { o.Status = src })
	c := e.setUp(t)
	c.base = srv.URL
	body := c.mustStatus(c.get("/admin"), http.StatusOK, "admin GET /admin with failures").body
	for _, want := range []string{
		`data-healthy="false"`, "Some parts of Sesame are failing",
		`data-check-name="Redis"`, `data-check="failing">Failing</span>`, "no answer within 2s",
		"The nodes could not be listed: Redis did not answer within 2s",
		"The queues could not be read: Redis did not answer within 2s",
		"The tasks in progress could not be counted: the database is unreachable",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/admin lacks %q", want)
		}
	}

	// A worker whose measurements failed, and whose isolation is not available or not checked yet.
	st = healthyStatus()
	w := st.Nodes[1].Worker
	w.Isolation, w.IsolationDetail = false, "Landlock/seccomp: not supported by this kernel"
	w.DiskErr, w.MirrorErr, w.RunningTasksErr = "statfs /srv/sesame: no such file or directory", "walk: permission denied", "the database is unreachable"
	other := *w
	other.WorkerID, other.IsolationCheckedAt, other.MirrorErr, other.MirrorMeasuredAt = "box-3/30/beef", time.Time{}, "", time.Time{}
	other.MirrorBudget, other.MirrorEvictedAt = 0, time.Time{}
	// A worker whose mirror cache is over budget: what is left is in use.
	full := *healthyStatus().Nodes[1].Worker
	full.WorkerID, full.MirrorBytes, full.MirrorEvicted = "box-4/40/f00d", 25<<30, 1
	st.Nodes = append(st.Nodes, admin.NodeStatus{ID: "box-3/30/bb", Role: "all", Hostname: "box-3", Worker: &other},
		admin.NodeStatus{ID: "box-4/40/bb", Role: "worker", Hostname: "box-4", Worker: &full})
	src.mu.Lock()
	src.status = st
	src.mu.Unlock()
	body = c.mustStatus(c.get("/admin"), http.StatusOK, "admin GET /admin with a failing worker").body
	for _, want := range []string{
		`data-isolation="unavailable">not available</span>`, "Landlock/seccomp: not supported by this kernel (checked 1m 0s ago)",
		"Free disk: statfs /srv/sesame: no such file or directory", "Mirror cache: walk: permission denied",
		"Running tasks: the database is unreachable", "<td>unknown</td>",
		`<span class="muted">not checked yet</span>`, "<td>being measured<br>",
		`data-mirror-budget>no limit</small>`, `data-mirror-evicted>nothing evicted yet</small>`,
		`<td>25.0 GiB (measured 30s ago)<br><small class="muted" data-mirror-budget>budget 20.0 GiB, over it: the rest is in use or was used in the last 30 minutes</small>`,
		`data-mirror-evicted>last evicted 1 repository, 300.0 MiB, 2m 0s ago</small>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/admin lacks %q", want)
		}
	}
}

func TestAdminHomeWithoutStatusSource(t *testing.T) {
	e := newEnv(t) // the harness's options have no Status
	c := e.setUp(t)
	body := c.mustStatus(c.get("/admin"), http.StatusOK, "admin GET /admin without a source").body
	for _, want := range []string{"The system status is unknown", `href="/admin/settings"`, `href="/admin/audit"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/admin lacks %q", want)
		}
	}
	if strings.Contains(body, "Every check passed") {
		t.Error("a server that checked nothing says every check passed")
	}
	// A source that checked nothing is not healthy either.
	srv := e.serve(t, func(o *admin.Options) { o.Status = &fakeStatus{} })
	c.base = srv.URL
	body = c.mustStatus(c.get("/admin"), http.StatusOK, "admin GET /admin, nothing checked").body
	for _, want := range []string{"No checks were run.", "No node is listed", "No task is being worked on.", "No queue exists yet"} {
		if !strings.Contains(body, want) {
			t.Errorf("/admin lacks %q", want)
		}
	}
	if strings.Contains(body, "Every check passed") {
		t.Error("a source that checked nothing says every check passed")
	}
}
