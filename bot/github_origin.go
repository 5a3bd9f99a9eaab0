package bot

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// DefaultEditInterval is the least time between two edits of a task's progress comment: GitHub sees
// at most one edit every few seconds however fast the agent moves.
const DefaultEditInterval = 5 * time.Second

// ProgressComments remembers the comment a task's progress is shown in. sesame.TaskStore has it.
type ProgressComments interface {
	SetProgressComment(ctx context.Context, id string, commentID int64) error
}

// EventRecorder records a task event (the reply posted). events.Recorder has it.
type EventRecorder interface {
	Add(ctx context.Context, e sesame.TaskEvent) (sesame.TaskEvent, error)
}

// Masker hides secrets in text before it leaves Sesame.
type Masker interface{ String(string) string }

// GitHubOrigin is where a task asked for in a GitHub comment hears back: the requester's role on the
// repository decides whether it runs; 👀 on their comment and a progress comment acknowledge it; the
// comment is edited as the task moves (at most once per Interval) and replaced by the result, with
// 🚀 when a pull request was opened. It is safe for concurrent use by many tasks.
type GitHubOrigin struct {
	GitHub  *GitHub
	Tasks   ProgressComments
	Events  EventRecorder
	Masker  Masker
	TaskURL func(taskID string) string
	// Interval is the least time between two edits of a progress comment; 0 means DefaultEditInterval.
	Interval time.Duration
	Logger   *slog.Logger

	mu       sync.Mutex
	progress map[string]*progressComment
}

// progressComment is what a running task's comment shows, and when it was last edited.
type progressComment struct {
	mu       sync.Mutex
	task     sesame.Task // installation, repository, comment
	status   sesame.TaskStatus
	step     string
	running  time.Time // when the agent started
	restarts int
	edited   time.Time
	timer    *time.Timer
	done     bool
	edits    int
}

// Describe says who asked and where, in GitHub's words.
func (o *GitHubOrigin) Describe(t *sesame.Task) sesame.RequestDescription {
	where := "issue"
	if t.IsPullRequest {
		where = "pull request"
	}
	d := sesame.RequestDescription{
		Prompt:      fmt.Sprintf("Requested by @%s on %s #%d of %s", t.Requester, where, t.IssueNumber, t.Repo),
		Commit:      fmt.Sprintf("Requested by @%s in %s#%d.", t.Requester, t.Repo, t.IssueNumber),
		PullRequest: fmt.Sprintf("Fixes #%d by @%s", t.IssueNumber, t.Requester),
		GitHubLogin: t.Requester,
	}
	if t.IsPullRequest {
		d.PullRequest = fmt.Sprintf("Requested in #%d by @%s", t.IssueNumber, t.Requester)
	}
	if rc := t.OriginRef.Review; rc != nil {
		d.Prompt = fmt.Sprintf("Requested by @%s in a review comment on pull request #%d of %s", t.Requester, t.IssueNumber, t.Repo)
		d.Context = reviewContext(rc)
	}
	return d
}

// Authorize lets requesters with write, maintain or admin access run tasks; anyone else is told why
// not in a reply.
func (o *GitHubOrigin) Authorize(ctx context.Context, t *sesame.Task) (bool, string, error) {
	role, err := o.GitHub.Permission(ctx, t.InstallationID, t.Repo, t.Requester)
	if err != nil {
		return false, "", err
	}
	switch role {
	case "admin", "maintain", "write":
		return true, "", nil
	}
	if err := o.replyOnce(ctx, t, deniedReply(t.Requester, t.Repo, role)); err != nil {
		return false, "", err
	}
	return false, fmt.Sprintf("@%s has %s access to %s; running Sesame takes write access.", t.Requester, role, t.Repo), nil
}

// Acknowledge puts 👀 on the requester's comment and posts the progress comment, once. A reply
// posted before (it said the task waited in line; or a retried job) is edited into it.
func (o *GitHubOrigin) Acknowledge(ctx context.Context, t *sesame.Task) error {
	if err := o.react(ctx, t, "eyes"); err != nil {
		return err
	}
	return o.reply(ctx, t, progressReply(t, o.taskURL(t.ID), nil))
}

// Progress edits the progress comment to show p, at once when the last edit is at least Interval
// old, else once that much time has passed (the latest progress then). It never blocks on GitHub.
func (o *GitHubOrigin) Progress(_ context.Context, t *sesame.Task, p sesame.TaskProgress) {
	if t.ProgressCommentID == 0 {
		return // not acknowledged (yet): nothing to edit
	}
	pc := o.comment(t)
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.done {
		return
	}
	pc.task.ProgressCommentID = t.ProgressCommentID
	if p.Status != "" {
		if p.Status == sesame.StatusRunning && pc.status != sesame.StatusRunning {
			pc.running = time.Now()
		}
		pc.status = p.Status
	}
	if p.Step != "" {
		pc.step = p.Step
	}
	pc.restarts = p.Restarts
	if pc.timer != nil {
		return // an edit is due; it will show this
	}
	wait := time.Until(pc.edited.Add(o.editGap(pc.edits)))
	if wait < 0 {
		wait = 0
	}
	pc.timer = time.AfterFunc(wait, func() { o.flush(pc) })
}

// flush edits the progress comment to show what pc holds now.
func (o *GitHubOrigin) flush(pc *progressComment) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.timer = nil
	if pc.done {
		return
	}
	t := pc.task
	body := progressReply(&t, o.taskURL(t.ID), pc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := o.edit(ctx, &t, t.ProgressCommentID, o.mask(body)); err != nil {
		o.logger().Warn("edit the progress comment", "task_id", t.ID, "err", err)
	}
	pc.edited = time.Now()
	pc.edits++
}

// Finish replaces the progress comment with how the task ended (or answers a help or usage command)
// and puts 🚀 on the requester's comment when a pull request was opened.
func (o *GitHubOrigin) Finish(ctx context.Context, t *sesame.Task, rep sesame.TaskReport) error {
	o.settle(t.ID)
	url := o.taskURL(t.ID)
	switch {
	case t.Kind == sesame.KindHelp:
		return o.replyOnce(ctx, t, helpReply())
	case t.Kind == sesame.KindUsage:
		return o.replyOnce(ctx, t, usageReply(t.Instruction))
	case t.Kind == sesame.KindStatus || t.Kind == sesame.KindStop || t.Kind == sesame.KindRetry:
		return o.replyOnce(ctx, t, rep.Text) // the runner's answer (github_commands.go)
	case rep.BeforeStart && rep.OnlyIfSilent && t.ProgressCommentID != 0:
		return nil
	case rep.BeforeStart:
		return o.reply(ctx, t, fmt.Sprintf("⏹️ %s\n\n<sub>[task log](%s)</sub>", rep.Reason, url))
	}
	if err := o.reply(ctx, t, resultReply(rep, url)); err != nil {
		return err
	}
	if rep.PRURL != "" {
		if err := o.react(ctx, t, "rocket"); err != nil {
			o.logger().Warn("react rocket", "task_id", t.ID, "err", err)
		}
	}
	return nil
}

// Edits is how often the progress comment of the task id was edited while it ran (for tests and
// figures).
func (o *GitHubOrigin) Edits(id string) int {
	o.mu.Lock()
	pc := o.progress[id]
	o.mu.Unlock()
	if pc == nil {
		return 0
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.edits
}

// comment is the progress state of t, made on first use.
func (o *GitHubOrigin) comment(t *sesame.Task) *progressComment {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.progress == nil {
		o.progress = map[string]*progressComment{}
	}
	pc := o.progress[t.ID]
	if pc == nil {
		// Made when the comment has just been posted: its first edit waits the interval.
		pc = &progressComment{task: *t, status: t.Status, edited: time.Now()}
		o.progress[t.ID] = pc
	}
	return pc
}

// settle ends the progress edits of the task id: a due edit is cancelled, one in flight is waited
// for, and a late Progress call is ignored (the state is forgotten a while later).
func (o *GitHubOrigin) settle(id string) {
	o.mu.Lock()
	if o.progress == nil {
		o.progress = map[string]*progressComment{}
	}
	pc := o.progress[id]
	if pc == nil {
		pc = &progressComment{}
		o.progress[id] = pc
	}
	o.mu.Unlock()
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.done {
		return
	}
	pc.done = true
	if pc.timer != nil {
		pc.timer.Stop()
		pc.timer = nil
	}
	time.AfterFunc(forgetAfter, func() {
		o.mu.Lock()
		if o.progress[id] == pc {
			delete(o.progress, id)
		}
		o.mu.Unlock()
	})
}

// forgetAfter is how long an ended task's progress state is kept, so that a late Progress call
// (from a goroutine of the task that was still running) edits nothing.
const forgetAfter = 10 * time.Minute

// replyOnce posts body as the task's progress comment unless one was already posted, and remembers it.
func (o *GitHubOrigin) replyOnce(ctx context.Context, t *sesame.Task, body string) error {
	if t.ProgressCommentID != 0 {
		return nil
	}
	id, err := o.post(ctx, t, o.mask(body))
	if err != nil {
		return err
	}
	t.ProgressCommentID = id
	if err := o.Tasks.SetProgressComment(ctx, t.ID, id); err != nil {
		return err
	}
	if o.Events != nil {
		_, err = o.Events.Add(ctx, sesame.TaskEvent{TaskID: t.ID, Type: sesame.EventReply, Message: "progress comment posted",
			Data: map[string]any{"comment_id": id}})
	}
	return err
}

// reply replaces the progress comment's text, or posts one when there is none yet.
func (o *GitHubOrigin) reply(ctx context.Context, t *sesame.Task, body string) error {
	if t.ProgressCommentID == 0 {
		return o.replyOnce(ctx, t, body)
	}
	return o.edit(ctx, t, t.ProgressCommentID, o.mask(body))
}

// editGap is the least time between the progress comment's edit n and the next: Interval for the
// first minute or so of edits, then longer as the task goes on (up to 6 Intervals, 30 s by default),
// so that a long task's comment costs a few edits a minute of the installation's rate limit.
func (o *GitHubOrigin) editGap(n int) time.Duration {
	return o.interval() * time.Duration(min(1+n/6, 6))
}

func (o *GitHubOrigin) interval() time.Duration {
	if o.Interval > 0 {
		return o.Interval
	}
	return DefaultEditInterval
}

func (o *GitHubOrigin) taskURL(id string) string {
	if o.TaskURL == nil {
		return "/tasks/" + id
	}
	return o.TaskURL(id)
}

func (o *GitHubOrigin) mask(s string) string {
	if o.Masker == nil {
		return s
	}
	return o.Masker.String(s)
}

func (o *GitHubOrigin) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}
