package runner

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/textsafe"
)

// The commands that run no agent and act on a thread's tasks: status, stop and retry. A thread is an
// issue or a pull request: the tasks with the same installation, repository and issue number. Such a
// command waits in no line; its answer is markdown in the report's Text, which the origin posts.

// ThreadStore reads the tasks of a thread. postgres.TaskStore has it.
type ThreadStore interface {
	// ThreadTasks returns the run tasks (sesame.KindRun) with installationID, repo and issue, newest
	// first, whatever their status, at most limit of them; none when issue is 0.
	ThreadTasks(ctx context.Context, installationID int64, repo string, issue, limit int) ([]*sesame.Task, error)
}

// Moderator is an origin that knows who may stop a task someone else asked for (on GitHub: whoever
// has maintain or admin access to the repository). Without one, only a task's requester may stop it.
type Moderator interface {
	// MayStopOthers reports whether t's requester may stop the tasks others asked for in t's thread.
	// When not, why says so in a sentence for the requester (markdown).
	MayStopOthers(ctx context.Context, t *sesame.Task) (ok bool, why string, err error)
}

const (
	// statusLimit is how many of a thread's tasks /sesame status lists.
	statusLimit = 10
	// threadLimit is how far back stop and retry look for their task.
	threadLimit = 50
	// answerStep is the message of the event that records a command's answer, so that a job run again
	// (the reply failed) posts the same answer rather than acting twice.
	answerStep = "command answered"
)

// answer is what a command did, in words for its requester.
type answer struct {
	status sesame.TaskStatus // completed when it did what was asked, failed when it could not
	reason string            // why it failed, one sentence; "" when completed
	text   string            // the reply, markdown
}

// command answers a status, stop or retry task through its origin and ends it. Run again after the
// reply failed, it posts the answer it recorded the first time instead of acting again.
func (r *Runner) command(ctx context.Context, t *sesame.Task, origin Origin, log *slog.Logger) error {
	a, ok, err := r.recordedAnswer(ctx, t)
	if err != nil {
		return err
	}
	if !ok {
		if a, err = r.answer(ctx, t, origin); err != nil {
			return retryable(err)
		}
		data := map[string]any{"kind": string(t.Kind), "status": string(a.status), "reason": a.reason, "text": a.text}
		if _, err := r.recorder().Add(ctx, sesame.TaskEvent{TaskID: t.ID, Type: sesame.EventStep, Message: answerStep, Data: data}); err != nil {
			return err
		}
		log.Info("command answered", "kind", t.Kind, "status", a.status, "requester", t.Requester)
	}
	if err := origin.Finish(ctx, t, sesame.TaskReport{Status: a.status, Reason: a.reason, Text: a.text}); err != nil {
		return retryable(err)
	}
	return r.end(ctx, t, a.status, a.reason)
}

// recordedAnswer is the answer an earlier run of t's job recorded, if any.
func (r *Runner) recordedAnswer(ctx context.Context, t *sesame.Task) (answer, bool, error) {
	events, err := r.Store.Events(ctx, t.ID)
	if err != nil {
		return answer{}, false, err
	}
	for _, e := range events {
		if e.Type == sesame.EventStep && e.Message == answerStep {
			status, _ := e.Data["status"].(string)
			reason, _ := e.Data["reason"].(string)
			text, _ := e.Data["text"].(string)
			return answer{status: sesame.TaskStatus(status), reason: reason, text: text}, true, nil
		}
	}
	return answer{}, false, nil
}

// answer does what t asks and says what came of it.
func (r *Runner) answer(ctx context.Context, t *sesame.Task, origin Origin) (answer, error) {
	threads, ok := r.Store.(ThreadStore)
	if !ok {
		return refused("This Sesame server cannot read a thread's tasks."), nil
	}
	if t.IssueNumber <= 0 {
		return refused("Only the tasks of an issue or a pull request can be listed, stopped or retried."), nil
	}
	limit := threadLimit
	if t.Kind == sesame.KindStatus {
		limit = statusLimit + 1 // one more tells whether some were left out
	}
	tasks, err := threads.ThreadTasks(ctx, t.InstallationID, t.Repo, t.IssueNumber, limit)
	if err != nil {
		return answer{}, fmt.Errorf("tasks of %s#%d: %w", t.Repo, t.IssueNumber, err)
	}
	switch t.Kind {
	case sesame.KindStatus:
		return answer{status: sesame.StatusCompleted, text: r.statusText(tasks)}, nil
	case sesame.KindStop:
		return r.stopTask(ctx, t, origin, tasks)
	default:
		return r.retryTask(ctx, t, tasks)
	}
}

// statusText lists a thread's tasks, newest first (tasks holds one more than are shown when some
// are left out).
func (r *Runner) statusText(tasks []*sesame.Task) string {
	if len(tasks) == 0 {
		return "📋 Sesame has no tasks in this thread yet. Start one with `/sesame <instruction>`."
	}
	var b strings.Builder
	b.WriteString("📋 **Sesame's tasks in this thread**, newest first:\n")
	for i, task := range tasks {
		if i == statusLimit {
			fmt.Fprintf(&b, "\nOnly the %d newest are listed.", statusLimit)
			break
		}
		fmt.Fprintf(&b, "\n- %s · %s · %s", statusWords(task), r.taskLink(task), instructionCode(task.Instruction))
		if task.Agent != "" {
			fmt.Fprintf(&b, " · agent `%s`", task.Agent)
		}
		fmt.Fprintf(&b, " · asked by %s", task.Requester)
		if task.PRURL != "" {
			fmt.Fprintf(&b, " · pull request [#%d](%s)", task.PRNumber, task.PRURL)
		}
	}
	return b.String()
}

// stopTask stops the task of the thread that runs (the newest that left the queue), else the one
// that runs next (the oldest queued), when t's requester asked for it or may stop others' tasks.
func (r *Runner) stopTask(ctx context.Context, t *sesame.Task, origin Origin, tasks []*sesame.Task) (answer, error) {
	var target *sesame.Task
	for _, task := range tasks {
		switch {
		case task.Status.Final():
		case task.Status != sesame.StatusQueued:
			if target == nil || target.Status == sesame.StatusQueued {
				target = task
			}
		case target == nil || target.Status == sesame.StatusQueued:
			target = task // the list is newest first: the last queued one seen is the oldest
		}
	}
	if target == nil {
		return refused("Nothing is running in this thread, so there is nothing to stop."), nil
	}
	if !sameRequester(t, target) {
		m, ok := origin.(Moderator)
		if !ok {
			return refused(fmt.Sprintf("🔒 Task %s was asked for by %s: only they may stop it.", r.taskLink(target), target.Requester)), nil
		}
		allowed, why, err := m.MayStopOthers(ctx, t)
		if err != nil {
			return answer{}, err
		}
		if !allowed {
			return refused(fmt.Sprintf("🔒 Task %s was asked for by %s. %s", r.taskLink(target), target.Requester, why)), nil
		}
	}
	stopped, err := r.recorder().RequestStop(ctx, target.ID, t.Requester)
	switch {
	case sesame.ErrorCode(err) == sesame.ECONFLICT:
		return refused(fmt.Sprintf("Task %s ended before it could be stopped.", r.taskLink(target))), nil
	case err != nil:
		return answer{}, fmt.Errorf("stop task %s: %w", target.ID, err)
	}
	r.Stop(target.ID) // at once when it runs here; the stop message reaches the other workers
	if stopped.Status == sesame.StatusStopped {
		return done(fmt.Sprintf("⏹️ Stopped task %s (%s) before it started.", r.taskLink(target), instructionCode(target.Instruction))), nil
	}
	return done(fmt.Sprintf("⏹️ Stopping task %s (%s). Its own reply will say when it has stopped.",
		r.taskLink(target), instructionCode(target.Instruction))), nil
}

// retryTask asks again for the thread's newest failed or stopped task, as a new task requested by
// t's requester, with t's agent, model and base in place of that task's when set.
func (r *Runner) retryTask(ctx context.Context, t *sesame.Task, tasks []*sesame.Task) (answer, error) {
	var last *sesame.Task
	for _, task := range tasks {
		if task.Status == sesame.StatusFailed || task.Status == sesame.StatusStopped {
			last = task
			break
		}
	}
	if last == nil {
		return refused("No task of this thread failed or was stopped, so there is nothing to retry."), nil
	}
	if r.Submitter == nil {
		return refused("This Sesame server cannot start tasks from its worker, so it cannot retry."), nil
	}
	// A retry asked again (its job run twice) finds the task it made: it answers the same.
	again, _, err := r.Submitter.Submit(ctx, retryRequest(t, last))
	if err != nil {
		return answer{}, fmt.Errorf("submit the retry of task %s: %w", last.ID, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "🔁 Running task %s again as task %s: %s", r.taskLink(last), r.taskLink(again), instructionCode(again.Instruction))
	if again.Agent != "" {
		fmt.Fprintf(&b, " · agent `%s`", again.Agent)
	}
	if again.Model != "" {
		fmt.Fprintf(&b, " · model `%s`", again.Model)
	}
	if again.Base != "" {
		fmt.Fprintf(&b, " · base `%s`", again.Base)
	}
	return done(b.String()), nil
}

// retryRequest is the request that runs last again for the retry command t: last's instruction and
// options, t's requester and place, t's agent, model and base when set. Another agent than last's
// does not inherit last's model, which was that agent's. A repeated retry (the same t) makes one task.
func retryRequest(t, last *sesame.Task) sesame.Request {
	r := sesame.Request{
		Source: t.Source, DeliveryID: "retry:" + t.ID + ":" + rand.Text(), RequestKey: "retry:" + t.ID,
		Kind: sesame.KindRun, Repo: t.Repo, InstallationID: t.InstallationID, IssueNumber: t.IssueNumber,
		IsPullRequest: t.IsPullRequest, CommentID: t.CommentID, CommentURL: t.CommentURL,
		Requester: t.Requester, RequesterID: t.RequesterID, UserID: t.UserID, OriginRef: t.OriginRef,
		Instruction: last.Instruction, Agent: last.Agent, Model: last.Model, Base: last.Base, Budget: last.Budget,
		SandboxSecurity: last.SandboxSecurity, KeepAlive: last.KeepAlive,
	}
	if t.Agent != "" && !strings.EqualFold(t.Agent, last.Agent) {
		r.Agent, r.Model = t.Agent, ""
	}
	if t.Model != "" {
		r.Model = t.Model
	}
	if t.Base != "" {
		r.Base = t.Base
	}
	if t.Budget > 0 {
		r.Budget = t.Budget
	}
	return r
}

// sameRequester reports whether a and b were asked for by the same person.
func sameRequester(a, b *sesame.Task) bool {
	if a.RequesterID != 0 && b.RequesterID != 0 {
		return a.RequesterID == b.RequesterID
	}
	return a.Requester != "" && strings.EqualFold(a.Requester, b.Requester)
}

func done(text string) answer { return answer{status: sesame.StatusCompleted, text: text} }

// refused is the answer of a command that could not do what it was asked: text says why.
func refused(text string) answer {
	return answer{status: sesame.StatusFailed, reason: text, text: text}
}

// taskLink is a markdown link to a task's page.
func (r *Runner) taskLink(t *sesame.Task) string {
	return fmt.Sprintf("[`%s`](%s)", t.ID, r.taskURL(t.ID))
}

// statusWords is a task's status as the status list shows it.
func statusWords(t *sesame.Task) string {
	icon := map[sesame.TaskStatus]string{
		sesame.StatusQueued: "⏳", sesame.StatusPreparing: "⏳", sesame.StatusRunning: "⚙️", sesame.StatusPushing: "⬆️",
		sesame.StatusCompleted: "✅", sesame.StatusFailed: "❌", sesame.StatusStopped: "⏹️",
	}[t.Status]
	words := strings.TrimSpace(icon + " **" + string(t.Status) + "**")
	if t.StopRequestedBy != "" && !t.Status.Final() {
		words += " (stop requested)"
	}
	return words
}

// maxInstructionShown is how much of an instruction, in characters, a command's answer repeats.
const maxInstructionShown = 60

// instructionCode is the first line of an instruction, shortened, as inline code: markdown, links and
// mentions in it stay text.
func instructionCode(s string) string {
	s = strings.TrimSpace(textsafe.StripInvisible(s))
	first, _, more := strings.Cut(s, "\n")
	first = strings.TrimSpace(first)
	if utf8.RuneCountInString(first) > maxInstructionShown {
		first, more = string([]rune(first)[:maxInstructionShown]), true
	}
	if more {
		first += "…"
	}
	return "`" + strings.ReplaceAll(first, "`", "'") + "`"
}
