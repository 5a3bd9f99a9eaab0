package sesame

import (
	"context"
	"time"
)

// Source is where a request came from.
type Source string

const (
	SourceGitHub Source = "github"
	SourceSlack  Source = "slack"
	SourceWeb    Source = "web"
)

// TaskKind says what a task asks of the worker. Only KindRun runs an agent; the other kinds are
// commands answered at once (they wait in no line), stored as tasks so that the reply they owe is
// deduplicated and retried like any other work.
type TaskKind string

const (
	KindRun   TaskKind = "run"   // run an agent on the instruction
	KindHelp  TaskKind = "help"  // reply with the usage text
	KindUsage TaskKind = "usage" // the command could not be parsed: reply with the reason and the usage text
	// KindStatus lists the tasks of the request's thread (its issue or pull request).
	KindStatus TaskKind = "status"
	// KindStop stops the task of the request's thread that runs (or waits) now.
	KindStop TaskKind = "stop"
	// KindRetry runs the thread's last failed or stopped task again, as a new task; the request's
	// Agent, Model and Base, when set, replace that task's.
	KindRetry TaskKind = "retry"
)

// TaskStatus is a task's place in its life: queued → preparing → running → pushing → completed,
// or failed / stopped from any earlier state.
type TaskStatus string

const (
	StatusQueued    TaskStatus = "queued"
	StatusPreparing TaskStatus = "preparing"
	StatusRunning   TaskStatus = "running"
	StatusPushing   TaskStatus = "pushing"
	StatusCompleted TaskStatus = "completed"
	StatusFailed    TaskStatus = "failed"
	StatusStopped   TaskStatus = "stopped"
)

// Final reports whether no further change of status can follow.
func (s TaskStatus) Final() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusStopped
}

// Request is what a user asked for and where, as received by an inbound handler.
type Request struct {
	Source     Source
	DeliveryID string // unique per delivery: X-GitHub-Delivery, Slack trigger id, or a form nonce
	// RequestKey names what was asked apart from how it arrived, for a request that may come again
	// under a new delivery id: "github:comment:{installation}:{comment id}:created" for a GitHub
	// comment, since GitHub does not sign X-GitHub-Delivery. At most one task has a given key; ""
	// means none, and the delivery id alone deduplicates.
	RequestKey string
	Kind       TaskKind

	Repo           string // "owner/name"
	InstallationID int64  // GitHub App installation that can reach Repo
	IssueNumber    int    // issue or pull request the comment is on
	IsPullRequest  bool
	CommentID      int64 // the triggering comment
	CommentURL     string

	Requester   string // login of whoever asked
	RequesterID int64

	Instruction string // for KindRun: the prompt; for KindUsage: why the command was refused
	Agent       string // "" means the default agent
	Model       string // "" means the agent's default model
	// Base is the branch a run starts from (checked by CheckBranch); "" means the repository's
	// default branch.
	Base string
	// Budget is the cost budget the request asks for its task (--budget), in US dollars; 0 means
	// the server's (tasks.costBudget). The runner refuses more than tasks.maxCostBudget.
	Budget float64

	// UserID is the Sesame user who asked, for requests from the web app ("" otherwise).
	UserID string
	// SandboxSecurity turns the sandbox's OS-level restrictions on or off for this task; nil follows
	// the server's setting.
	SandboxSecurity *bool
	// KeepAlive keeps the task's folder after it ends.
	KeepAlive bool
	// OriginRef says where in a chat workspace (Slack), or in a pull request's review (GitHub), the
	// request was made; zero otherwise. Only the request's origin reads it.
	OriginRef OriginRef
}

// OriginRef is where in a chat workspace or a review a request was made, in the host's own ids.
type OriginRef struct {
	Workspace   string `json:"workspace,omitempty"`    // Slack: the team id
	Channel     string `json:"channel,omitempty"`      // Slack: the channel id
	ChannelName string `json:"channel_name,omitempty"` // as the requester saw it, without '#'
	User        string `json:"user,omitempty"`         // Slack: the member id of the requester
	UserName    string `json:"user_name,omitempty"`    // the requester's handle
	// Review is the pull request review comment a GitHub request was made in; nil for any other.
	Review *ReviewComment `json:"review,omitempty"`
}

// Task is one request on its way to a pull request. Postgres is its source of truth.
type Task struct {
	ID string
	Request

	Status            TaskStatus
	Reason            string // why a task failed or stopped, in words for its requester
	ProgressCommentID int64  // the reply Sesame edits in place as the task moves on
	// ProgressRef is the origin's handle on the message it edits in place when that is not a GitHub
	// comment (Slack: the message's ts); "" until the task is acknowledged there.
	ProgressRef string

	// What came of it, once known.
	Branch       string
	PRNumber     int
	PRURL        string
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64

	// WorkerID names the worker process holding the task's lease, until LeaseUntil; a lease that
	// has run out means the worker died and another may resume the task. Restarts counts how often
	// it was run again from the start after its worker died.
	WorkerID   string
	LeaseUntil time.Time
	Restarts   int

	// StopRequestedBy names who asked to stop the task ("" when nobody did).
	StopRequestedBy string
	StopRequestedAt time.Time

	EnqueuedAt time.Time
	StartedAt  time.Time // when the task left the queue (preparing); zero until then
	FinishedAt time.Time // when it reached a final status; zero until then
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Duration is how long the task ran: from leaving the queue to its end, or to now while it runs.
func (t *Task) Duration(now time.Time) time.Duration {
	if t.StartedAt.IsZero() {
		return 0
	}
	end := t.FinishedAt
	if end.IsZero() {
		end = now
	}
	return end.Sub(t.StartedAt)
}

// TaskResult is what a task produced, recorded before its final status.
type TaskResult struct {
	Branch       string
	PRNumber     int
	PRURL        string
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
}

// TaskFilter selects tasks for a list.
type TaskFilter struct {
	UserID string // only this web user's tasks; "" = every task
	Limit  int    // at most this many; 0 = a default of 50
}

// TaskEvent is one thing that happened to a task: a change of status, an agent's output, a reply.
type TaskEvent struct {
	ID        int64          `json:"id"`
	TaskID    string         `json:"task_id"`
	Type      string         `json:"type"` // "status", "reply", "agent", "log", ...
	Message   string         `json:"message"`
	Data      map[string]any `json:"data,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
}

// TaskStore keeps tasks and their events.
type TaskStore interface {
	// CreateTask stores a new queued task for r. When a task with the same delivery id, or the same
	// non-empty request key, already exists it stores nothing and returns that task with created false.
	CreateTask(ctx context.Context, r Request) (t *Task, created bool, err error)
	// Task returns the task with id, or an ENOTFOUND error.
	Task(ctx context.Context, id string) (*Task, error)
	// MarkEnqueued records that the jobs of the tasks with ids are known to be on the queue.
	MarkEnqueued(ctx context.Context, ids ...string) error
	// UnqueuedTasks returns queued tasks created before olderThan whose job is not yet known to be on
	// the queue, oldest first.
	UnqueuedTasks(ctx context.Context, olderThan time.Time, limit int) ([]*Task, error)
	// SetStatus moves a task to status with a reason and stores the change as an event, which it
	// returns. It fails with ECONFLICT when the task has already reached a final status.
	SetStatus(ctx context.Context, id string, status TaskStatus, reason string) (TaskEvent, error)
	// SetProgressComment remembers the reply that the task edits in place.
	SetProgressComment(ctx context.Context, id string, commentID int64) error
	// AddEvent stores an event of a task and returns it with its id and time.
	AddEvent(ctx context.Context, e TaskEvent) (TaskEvent, error)
	// Events returns a task's events in the order they happened.
	Events(ctx context.Context, taskID string) ([]TaskEvent, error)
	// EventsAfter returns a task's events whose id is greater than afterID, in id order.
	EventsAfter(ctx context.Context, taskID string, afterID int64) ([]TaskEvent, error)

	// ListTasks returns tasks newest first.
	ListTasks(ctx context.Context, f TaskFilter) ([]*Task, error)
	// SetResult records what a task produced (branch, pull request, usage).
	SetResult(ctx context.Context, id string, r TaskResult) error
	// RequestStop records that by asked to stop a task that has not ended. A task still queued is
	// stopped at once: its status event is returned (stopped non-nil) for publishing. A task that
	// already ended fails with ECONFLICT; an unknown one with ENOTFOUND.
	RequestStop(ctx context.Context, id, by string) (t *Task, stopped *TaskEvent, err error)
	// StopRequested returns those of ids whose stop was requested.
	StopRequested(ctx context.Context, ids []string) ([]string, error)

	// Claim gives worker the task's lease until lease from now, when the task has not ended and no
	// other worker holds a live lease on it; otherwise it fails with ECONFLICT. Claiming a task that
	// already left the queue counts a restart.
	Claim(ctx context.Context, id, worker string, lease time.Duration) (*Task, error)
	// RenewLeases extends worker's leases on the tasks with ids and returns those it still holds.
	RenewLeases(ctx context.Context, worker string, ids []string, lease time.Duration) ([]string, error)
	// ReleaseLease ends worker's lease on a task that has not ended, so another worker may resume it
	// at once.
	ReleaseLease(ctx context.Context, id, worker string) error
	// OrphanedTasks returns tasks that left the queue and have not ended whose lease ran out: their
	// worker died.
	OrphanedTasks(ctx context.Context, limit int) ([]*Task, error)
	// QueuedTasks returns queued tasks created before olderThan whose job was confirmed on the queue,
	// oldest first, after the task with id after ("" from the start): the reconciler checks that
	// their jobs are still there.
	QueuedTasks(ctx context.Context, olderThan time.Time, after string, limit int) ([]*Task, error)
}

// TaskSubmitter turns a request into a stored, queued task. Every inbound path (GitHub, Slack, the web
// form) goes through one implementation, so they all dedupe, store and enqueue alike.
type TaskSubmitter interface {
	// Submit stores the task and enqueues its job. created is false for a repeated delivery. A task
	// that is stored but could not be enqueued is still returned without error: the reconciler
	// enqueues it later.
	Submit(ctx context.Context, r Request) (t *Task, created bool, err error)
}
