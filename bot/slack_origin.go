package bot

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// DefaultSlackUpdateInterval is the least time between two updates of a task's message: Slack sees
// at most one chat.update every few seconds however fast the agent moves (its limit is about one a
// second per channel).
const DefaultSlackUpdateInterval = 3 * time.Second

// slackForgetAfter is how long an ended task's progress state is kept, so that a late Progress call
// (from a goroutine of the task that was still running) updates nothing.
const slackForgetAfter = 10 * time.Minute

// ProgressRefs remembers the message a task's progress is shown in. postgres.TaskStore has it.
type ProgressRefs interface {
	SetProgressRef(ctx context.Context, id, ref string) error
}

// AccountReader reads a Sesame account. sesame.UserStore has it.
type AccountReader interface {
	User(ctx context.Context, id string) (*sesame.User, error)
}

// SlackOrigin is where a task asked for with the /sesame slash command hears back: a message in the
// command's channel, posted when the task is taken, updated in place as it moves (at most once per
// Interval, with a Stop button) and, when it ends, updated to the outcome with the result replied in
// its thread. The requester's access was checked when the command came. It is safe for concurrent
// use by many tasks.
type SlackOrigin struct {
	Slack   *Slack
	Tasks   ProgressRefs
	Users   AccountReader // nil: the account is not checked again before the task runs
	Events  EventRecorder
	Masker  Masker
	TaskURL func(taskID string) string
	// Interval is the least time between two updates of a task's message; 0 means
	// DefaultSlackUpdateInterval.
	Interval time.Duration
	Logger   *slog.Logger

	mu       sync.Mutex
	progress map[string]*slackProgress
}

// slackProgress is what a running task's message shows, and when it was last updated.
type slackProgress struct {
	mu       sync.Mutex
	task     sesame.Task
	status   sesame.TaskStatus
	step     string
	running  time.Time
	restarts int
	updated  time.Time
	timer    *time.Timer
	done     bool
	updates  int
}

// Describe says who asked and where, in Slack's words.
func (o *SlackOrigin) Describe(t *sesame.Task) sesame.RequestDescription {
	who := "@" + textOr(t.OriginRef.UserName, t.Requester)
	where := "Slack"
	if ch := t.OriginRef.ChannelName; ch != "" && ch != "directmessage" && ch != "privategroup" {
		where = "Slack (#" + ch + ")"
	}
	return sesame.RequestDescription{
		Prompt:      fmt.Sprintf("Requested by %s in %s for %s", who, where, t.Repo),
		Commit:      fmt.Sprintf("Requested by %s in %s.", who, where),
		PullRequest: fmt.Sprintf("Requested by %s in %s", who, where),
	}
}

// Authorize lets the task run while its requester's Sesame account still exists and is not
// suspended: their access to the repository was checked when the command came.
func (o *SlackOrigin) Authorize(ctx context.Context, t *sesame.Task) (bool, string, error) {
	if o.Users == nil || t.UserID == "" {
		return true, "", nil
	}
	u, err := o.Users.User(ctx, t.UserID)
	switch {
	case sesame.ErrorCode(err) == sesame.ENOTFOUND:
		return false, "The Sesame account that asked for this task no longer exists.", nil
	case err != nil:
		return false, "", err
	case u.Banned:
		return false, "The Sesame account that asked for this task is suspended.", nil
	}
	return true, "", nil
}

// Acknowledge posts the task's message in the channel, once.
func (o *SlackOrigin) Acknowledge(ctx context.Context, t *sesame.Task) error {
	if t.ProgressRef != "" {
		return nil
	}
	text := o.mask(slackProgressText(t, o.taskURL(t.ID), nil))
	return o.postOnce(ctx, t, text, true)
}

// Queued says nothing: a Slack request names no issue or pull request, so it never waits in a
// thread's line.
func (o *SlackOrigin) Queued(context.Context, *sesame.Task, sesame.LinePlace) error { return nil }

// postOnce posts the task's message and remembers it.
func (o *SlackOrigin) postOnce(ctx context.Context, t *sesame.Task, text string, stop bool) error {
	channel := t.OriginRef.Channel
	ts, err := o.Slack.Post(ctx, channel, "", text, slackBlocks(text, t.ID, stop))
	if err != nil {
		return err
	}
	t.ProgressRef = ts
	if err := o.Tasks.SetProgressRef(ctx, t.ID, ts); err != nil {
		return err
	}
	if o.Events != nil {
		_, err = o.Events.Add(ctx, sesame.TaskEvent{TaskID: t.ID, Type: sesame.EventReply, Message: "slack message posted",
			Data: map[string]any{"channel": channel, "ts": ts}})
	}
	return err
}

// Progress updates the task's message to show p, at once when the last update is at least Interval
// old, else once that much time has passed (the latest progress then). It never blocks on Slack.
func (o *SlackOrigin) Progress(_ context.Context, t *sesame.Task, p sesame.TaskProgress) {
	if t.ProgressRef == "" {
		return
	}
	sp := o.state(t)
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.done {
		return
	}
	sp.task.ProgressRef = t.ProgressRef
	if p.Status != "" {
		if p.Status == sesame.StatusRunning && sp.status != sesame.StatusRunning {
			sp.running = time.Now()
		}
		sp.status = p.Status
	}
	if p.Step != "" {
		sp.step = p.Step
	}
	sp.restarts = p.Restarts
	if sp.timer != nil {
		return // an update is due; it will show this
	}
	wait := max(time.Until(sp.updated.Add(o.interval())), 0)
	sp.timer = time.AfterFunc(wait, func() { o.flush(sp) })
}

// flush updates the task's message to what sp holds now.
func (o *SlackOrigin) flush(sp *slackProgress) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.timer = nil
	if sp.done {
		return
	}
	t := sp.task
	text := o.mask(slackProgressText(&t, o.taskURL(t.ID), sp))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := o.Slack.Update(ctx, t.OriginRef.Channel, t.ProgressRef, text, slackBlocks(text, t.ID, true)); err != nil {
		o.logger().Warn("update the slack message", "task_id", t.ID, "err", err)
	}
	sp.updated = time.Now()
	sp.updates++
}

// Finish updates the task's message to how it ended (without the Stop button) and replies in its
// thread with the pull request, the agent's summary and cost, or why it failed.
func (o *SlackOrigin) Finish(ctx context.Context, t *sesame.Task, rep sesame.TaskReport) error {
	o.settle(t.ID)
	url := o.taskURL(t.ID)
	channel := t.OriginRef.Channel
	switch {
	case t.Kind == sesame.KindHelp || t.Kind == sesame.KindUsage:
		// The slash command answers these itself; a task of that kind only came from elsewhere.
		text := slackUsage()
		if t.Kind == sesame.KindUsage {
			text = slackUsageError(t.Instruction)
		}
		_, err := o.Slack.Post(ctx, channel, "", o.mask(text), nil)
		return err
	case t.Kind == sesame.KindStatus || t.Kind == sesame.KindStop || t.Kind == sesame.KindRetry:
		_, err := o.Slack.Post(ctx, channel, "", o.mask(slackMarkdown(rep.Text)), nil)
		return err
	case rep.BeforeStart && rep.OnlyIfSilent && t.ProgressRef != "":
		return nil
	}
	final := o.mask(slackFinalText(t, url, rep))
	if t.ProgressRef == "" {
		if err := o.postOnce(ctx, t, final, false); err != nil {
			return err
		}
	} else if err := o.Slack.Update(ctx, channel, t.ProgressRef, final, slackBlocks(final, t.ID, false)); err != nil {
		return err
	}
	if rep.Status == sesame.StatusCompleted && rep.PRURL == "" && !rep.NoChanges && rep.Summary == "" {
		return nil // nothing more to say
	}
	_, err := o.Slack.Post(ctx, channel, t.ProgressRef, o.mask(slackResultText(rep, url)), nil)
	return err
}

// Updates is how often the message of the task id was updated while it ran (for tests and figures).
func (o *SlackOrigin) Updates(id string) int {
	o.mu.Lock()
	sp := o.progress[id]
	o.mu.Unlock()
	if sp == nil {
		return 0
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.updates
}

// state is the progress of t, made on first use.
func (o *SlackOrigin) state(t *sesame.Task) *slackProgress {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.progress == nil {
		o.progress = map[string]*slackProgress{}
	}
	sp := o.progress[t.ID]
	if sp == nil {
		// Made when the message has just been posted: its first update waits the interval.
		sp = &slackProgress{task: *t, status: t.Status, updated: time.Now()}
		o.progress[t.ID] = sp
	}
	return sp
}

// settle ends the updates of the task id: a due update is cancelled, one in flight is waited for,
// and a late Progress call is ignored (the state is forgotten a while later).
func (o *SlackOrigin) settle(id string) {
	o.mu.Lock()
	if o.progress == nil {
		o.progress = map[string]*slackProgress{}
	}
	sp := o.progress[id]
	if sp == nil {
		sp = &slackProgress{}
		o.progress[id] = sp
	}
	o.mu.Unlock()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.done {
		return
	}
	sp.done = true
	if sp.timer != nil {
		sp.timer.Stop()
		sp.timer = nil
	}
	time.AfterFunc(slackForgetAfter, func() {
		o.mu.Lock()
		if o.progress[id] == sp {
			delete(o.progress, id)
		}
		o.mu.Unlock()
	})
}

func (o *SlackOrigin) interval() time.Duration {
	if o.Interval > 0 {
		return o.Interval
	}
	return DefaultSlackUpdateInterval
}

func (o *SlackOrigin) taskURL(id string) string {
	if o.TaskURL == nil {
		return "/tasks/" + id
	}
	return o.TaskURL(id)
}

func (o *SlackOrigin) mask(s string) string {
	if o.Masker == nil {
		return s
	}
	return o.Masker.String(s)
}

func (o *SlackOrigin) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// textOr is s, or or when s is empty.
func textOr(s, or string) string {
	if s == "" {
		return or
	}
	return s
}
