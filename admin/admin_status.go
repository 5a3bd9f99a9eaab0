package admin

import (
	"context"
	"fmt"
	"net/http"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// StatusSource reports the health of the whole deployment for /admin.
type StatusSource interface {
	// Status checks every part now, concurrently, and returns within a few seconds even when a
	// part does not answer. It does not fail: a part that could not be checked says why in its
	// place (a failed Check, or one of the Err fields).
	Status(ctx context.Context) Status
}

// statusTimeout bounds the wait for a StatusSource that does not keep its promise to return.
const statusTimeout = 5 * time.Second

// Status is the deployment as the admin's overview shows it.
type Status struct {
	At     time.Time // when the checks ran
	Checks []Check   // PostgreSQL, Redis, the schema, …, in the order shown

	Nodes    []NodeStatus // the Sesame processes that sent a heartbeat lately
	NodesErr string       // why they could not be listed; "" when they were

	Queues    []QueueStatus
	QueuesErr string

	// Workers are the tasks being worked on (preparing, running, pushing) by worker id, as the
	// database holds their leases; a worker there with no listed node stopped or cannot reach Redis.
	Workers    []WorkerLoad
	WorkersErr string
}

// Check is one part that answers or does not.
type Check struct {
	Name    string        // "PostgreSQL"
	OK      bool          //
	Latency time.Duration // of the check's round trip; 0 when none was measured
	Detail  string        // what was found, or what failed, in words
}

// NodeStatus is one running Sesame process.
type NodeStatus struct {
	ID        string
	Role      string // all, web or worker
	Version   string
	Hostname  string
	PID       int
	GoVersion string
	StartedAt time.Time
	LastSeen  time.Time
	Worker    *WorkerStatus // nil for a web node
}

// WorkerStatus is what a node that runs tasks reports about itself. A field that could not be
// measured says why in its Err companion.
type WorkerStatus struct {
	WorkerID        string
	SandboxProvider string
	// Isolation tells whether OS-level isolation works on the node's host, as checked at
	// IsolationCheckedAt (zero: not checked yet); IsolationDetail says what works or what is missing.
	Isolation          bool
	IsolationDetail    string
	IsolationCheckedAt time.Time
	RunningTasks       int
	RunningTasksErr    string
	TaskDir            string // TASK_DIR_BASE
	FreeBytes          int64
	DiskErr            string
	MirrorBytes        int64     // the mirror cache's size
	MirrorMeasuredAt   time.Time // zero: not measured yet
	MirrorErr          string
	MirrorBudget       int64     // tasks.mirrorCacheBudget; 0: no limit
	MirrorEvictedAt    time.Time // the last sweep that evicted repositories; zero: none yet
	MirrorEvicted      int       // how many it evicted
	MirrorEvictedBytes int64     // and how much space that freed
}

// QueueStatus is one asynq queue.
type QueueStatus struct {
	Name                                        string
	Pending, Active, Scheduled, Retry, Archived int
	ProcessedToday, FailedToday                 int           // asynq's daily counters (UTC days)
	Latency                                     time.Duration // age of the oldest pending job
	Paused                                      bool
}

// WorkerLoad counts the tasks a worker holds.
type WorkerLoad struct {
	WorkerID string
	Running  int
	Expired  int // of them, whose lease ran out: the worker stopped renewing it
}

func (a *App) statusRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin", a.requireAdmin(a.adminHome))
}

// adminHome is the admin section's overview: links to its pages, then the system status. It never
// fails: a missing source or a failed check is said in words.
func (a *App) adminHome(w http.ResponseWriter, r *http.Request, _ *sesame.User) {
	v := statusView{}
	if a.Status != nil {
		ctx, cancel := context.WithTimeout(r.Context(), statusTimeout)
		st := a.Status.Status(ctx)
		cancel()
		v = viewStatus(st, now())
	}
	a.render(w, r, http.StatusOK, "admin_home", "Admin", v)
}

// statusView is Status ready to show: times as ages, sizes in units, states in words.
type statusView struct {
	Known   bool // a StatusSource answered
	At      time.Time
	Healthy bool // every check passed
	Checks  []checkView

	Nodes    []nodeView
	Workers  []workerView // the worker nodes, with what they report
	NodesErr string

	Queues    []QueueStatus
	QueuesErr string

	Loads    []loadView
	LoadsErr string
}

type checkView struct {
	Name, Latency, Detail string
	OK                    bool
}

type nodeView struct {
	ID, Role, Version, Hostname, GoVersion string
	PID                                    int
	StartedAt                              time.Time
	Uptime, LastSeen                       string
}

type workerView struct {
	Node, WorkerID, Provider, TaskDir string
	Isolation                         string // available, not available, not checked yet
	IsolationOK, IsolationKnown       bool
	IsolationDetail                   string
	Running, Free, Mirror             string
	MirrorBudget, MirrorEvicted       string   // "budget 20.0 GiB" or "no limit"; the last eviction
	Problems                          []string // measurements that failed
}

type loadView struct {
	WorkerID string
	Running  int
	Expired  int
	Node     string // the listed node running this worker; "" when none is
}

// viewStatus turns st into what the page shows, with ages measured at t.
func viewStatus(st Status, t time.Time) statusView {
	v := statusView{Known: true, At: st.At, Healthy: len(st.Checks) > 0, NodesErr: st.NodesErr, Queues: st.Queues,
		QueuesErr: st.QueuesErr, LoadsErr: st.WorkersErr}
	for _, c := range st.Checks {
		v.Healthy = v.Healthy && c.OK
		cv := checkView{Name: c.Name, OK: c.OK, Detail: c.Detail, Latency: "—"}
		if c.Latency > 0 {
			cv.Latency = formatLatency(c.Latency)
		}
		v.Checks = append(v.Checks, cv)
	}
	byWorker := map[string]string{}
	for _, n := range st.Nodes {
		v.Nodes = append(v.Nodes, nodeView{ID: n.ID, Role: n.Role, Version: n.Version, Hostname: n.Hostname, GoVersion: n.GoVersion,
			PID: n.PID, StartedAt: n.StartedAt, Uptime: roughDuration(t.Sub(n.StartedAt)), LastSeen: ago(t, n.LastSeen)})
		if n.Worker == nil {
			continue
		}
		byWorker[n.Worker.WorkerID] = n.ID
		v.Workers = append(v.Workers, viewWorker(n, t))
	}
	for _, l := range st.Workers {
		v.Loads = append(v.Loads, loadView{WorkerID: l.WorkerID, Running: l.Running, Expired: l.Expired, Node: byWorker[l.WorkerID]})
	}
	return v
}

func viewWorker(n NodeStatus, t time.Time) workerView {
	w := n.Worker
	wv := workerView{Node: n.ID, WorkerID: w.WorkerID, Provider: w.SandboxProvider, TaskDir: w.TaskDir,
		IsolationDetail: w.IsolationDetail, IsolationOK: w.Isolation, IsolationKnown: !w.IsolationCheckedAt.IsZero()}
	switch {
	case !wv.IsolationKnown:
		wv.Isolation = "not checked yet"
	case w.Isolation:
		wv.Isolation = "available"
	default:
		wv.Isolation = "not available"
	}
	if wv.IsolationKnown {
		wv.IsolationDetail = fmt.Sprintf("%s (checked %s)", wv.IsolationDetail, ago(t, w.IsolationCheckedAt))
	}
	wv.Running = fmt.Sprint(w.RunningTasks)
	if w.RunningTasksErr != "" {
		wv.Running = "unknown"
		wv.Problems = append(wv.Problems, "Running tasks: "+w.RunningTasksErr)
	}
	wv.Free = formatBytes(w.FreeBytes)
	if w.DiskErr != "" {
		wv.Free = "unknown"
		wv.Problems = append(wv.Problems, "Free disk: "+w.DiskErr)
	}
	switch {
	case w.MirrorErr != "":
		wv.Mirror = "unknown"
		wv.Problems = append(wv.Problems, "Mirror cache: "+w.MirrorErr)
	case w.MirrorMeasuredAt.IsZero():
		wv.Mirror = "being measured"
	default:
		wv.Mirror = fmt.Sprintf("%s (measured %s)", formatBytes(w.MirrorBytes), ago(t, w.MirrorMeasuredAt))
	}
	wv.MirrorBudget = "no limit"
	if w.MirrorBudget > 0 {
		wv.MirrorBudget = "budget " + formatBytes(w.MirrorBudget)
		if w.MirrorErr == "" && !w.MirrorMeasuredAt.IsZero() && w.MirrorBytes > w.MirrorBudget {
			wv.MirrorBudget += ", over it: the rest is in use or was used in the last 30 minutes"
		}
	}
	wv.MirrorEvicted = "nothing evicted yet"
	if !w.MirrorEvictedAt.IsZero() {
		repos := "repositories"
		if w.MirrorEvicted == 1 {
			repos = "repository"
		}
		wv.MirrorEvicted = fmt.Sprintf("last evicted %d %s, %s, %s", w.MirrorEvicted, repos,
			formatBytes(w.MirrorEvictedBytes), ago(t, w.MirrorEvictedAt))
	}
	return wv
}

// formatBytes says n in binary units: "512 B", "1.5 MiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// formatLatency says a round trip in milliseconds, or seconds past one.
func formatLatency(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// roughDuration says d in its two largest units: "45s", "3m 5s", "2h 10m", "4d 1h".
func roughDuration(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// ago says how long before t then was: "3s ago"; a clock that runs ahead of ours counts as now.
func ago(t, then time.Time) string { return roughDuration(t.Sub(then)) + " ago" }
