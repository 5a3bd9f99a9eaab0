package runner

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/gitops"
	"github.com/sesame-works/sesame/internal/textsafe"
)

// Namer names what a task makes with the utility model (utility.Client implements it): the words of
// its branch name, chosen before the agent runs, and its commit message and pull request title, from
// the request and the diff. The runner keeps its own deterministic names (gitops.BranchName, title)
// whenever the namer has none, so a task never fails for it and waits on it only as long as its
// timeout; everything the runner passes has been through the task's masker.
type Namer interface {
	// Enabled reports whether a model is set up now; when it is not, the runner asks nothing and
	// computes no diff.
	Enabled() bool
	// BranchWords returns a few lower-case ASCII words joined by dashes ("fix-login-timeout"), or "" and
	// no error when no model is set up, or an error saying why there are none (a failure, a timeout, an
	// answer that broke the rules).
	BranchWords(ctx context.Context, req sesame.NamingRequest) (string, error)
	// ChangeNames returns a commit subject of one line (at most 72 characters), an optional body, and
	// a pull request title for req.Diff; the zero ChangeNames and no error when no model is set up, an
	// error when there are none.
	ChangeNames(ctx context.Context, req sesame.NamingRequest) (sesame.ChangeNames, error)
}

// The utility model's step events say what it named ("for": forBranch or forChange) and either what
// it gave ("by": byModel) or why Sesame's own names were kept ("by": bySesame, "reason", also in the
// message, which the task page shows). One is recorded each time the model is asked. The branch's is
// recorded before the branch is checked out, and so before anything is pushed: a task resumed after its
// worker died reads the name from it (recordedNames) instead of making another one.
const (
	forBranch = "branch"
	forChange = "change"
)

// maxDiffRead is the most of a diff read before masking. The masker sees this much so that a secret
// near the utility client's own limit (utility.MaxDiff, smaller) is masked whole before the cut.
const maxDiffRead = 256 << 10

const byModel, bySesame = "utility model", "Sesame"

// What the steps say: when the model named something, and when it did not (followed by the reason).
var (
	namedStep   = map[string]string{forBranch: "branch named by the utility model", forChange: "commit message and pull request title written by the utility model"}
	unnamedStep = map[string]string{forBranch: "the utility model did not name the branch", forChange: "the utility model did not write the commit message"}
)

// namingRequest is what the utility model is told of t: its request, and diff, masked.
func (r *Runner) namingRequest(t *sesame.Task, diff string) sesame.NamingRequest {
	m := r.masker()
	return sesame.NamingRequest{Repo: t.Repo, Issue: t.IssueNumber, Instruction: m.String(t.Instruction), Diff: m.String(diff)}
}

// branchName is the branch of a task that opens a pull request: the one recorded for it when its
// worker died and it runs again, else one made of the utility model's words, else gitops.BranchName.
// Either way it is "sesame/[<issue>-]<words>-<suffix of the task id>", a valid branch name unique to
// the task. A name of the model's is used only once it is recorded, so that a resumed task finds it.
func (r *Runner) branchName(ctx context.Context, t *sesame.Task, log *slog.Logger) string {
	fallback := gitops.BranchName(t.IssueNumber, t.Instruction, t.ID)
	if t.Restarts > 0 {
		if branch, _ := r.recordedNames(ctx, t, log); branch != "" {
			return branch
		}
	}
	if r.Namer == nil || !r.Namer.Enabled() {
		return fallback
	}
	words, err := r.Namer.BranchWords(ctx, r.namingRequest(t, ""))
	branch := fallback
	if err == nil && words != "" {
		branch = gitops.BranchName(t.IssueNumber, words, t.ID)
		if cerr := sesame.CheckBranch(branch); cerr != nil || !strings.HasPrefix(branch, "sesame/") {
			err, branch = fmt.Errorf("the utility model's words make an invalid branch name: %v", cerr), fallback
		}
	}
	if err != nil || words == "" {
		r.modelFailed(ctx, t, forBranch, err, map[string]any{"branch": fallback}, log)
		return fallback
	}
	e := sesame.TaskEvent{TaskID: t.ID, Type: sesame.EventStep, Message: namedStep[forBranch],
		Data: map[string]any{"for": forBranch, "branch": branch, "by": byModel}}
	if _, err := r.recorder().Add(ctx, e); err != nil {
		log.Warn("record the utility model's branch name; using Sesame's", "err", err)
		return fallback // a resumed task would not find the model's
	}
	return branch
}

// changeNames asks the utility model to name the change in workspace: the commit message to commit
// it with and the pull request title, or ("", "") for Sesame's own (commitMessage, title).
func (r *Runner) changeNames(ctx context.Context, t *sesame.Task, workspace, mirror string, log *slog.Logger) (message, prTitle string) {
	if r.Namer == nil || !r.Namer.Enabled() {
		return "", ""
	}
	diff, cut, err := gitops.StagedDiff(ctx, workspace, mirror, maxDiffRead)
	if err != nil {
		r.modelFailed(ctx, t, forChange, fmt.Errorf("read the diff: %w", err), nil, log)
		return "", ""
	}
	if diff == "" { // nothing to commit: nothing to name
		return "", ""
	}
	if cut {
		diff += "\n[diff cut short]\n"
	}
	names, err := r.Namer.ChangeNames(ctx, r.namingRequest(t, diff))
	if err == nil && names.Subject == "" {
		err = fmt.Errorf("the utility model gave no commit subject")
	}
	if err != nil {
		r.modelFailed(ctx, t, forChange, err, nil, log)
		return "", ""
	}
	names.Subject, names.Title = oneLine(names.Subject), oneLine(names.Title)
	if names.Title == "" {
		names.Title = names.Subject
	}
	r.note(ctx, t, namedStep[forChange], map[string]any{"for": forChange, "subject": names.Subject, "title": names.Title, "by": byModel})
	return namedCommitMessage(names, r.describe(t), r.taskURL(t.ID)), names.Title
}

// namedCommitMessage is the commit message of the utility model's names, with the lines about the
// request that commitMessage writes.
func namedCommitMessage(n sesame.ChangeNames, d sesame.RequestDescription, taskURL string) string {
	msg := n.Subject + "\n\n"
	if body := strings.TrimSpace(textsafe.StripInvisible(n.Body)); body != "" {
		msg += body + "\n\n"
	}
	return msg + fmt.Sprintf("%s\nSesame task: %s", textsafe.StripInvisible(d.Commit), taskURL)
}

// oneLine is s without invisible characters, on its first line: the runner's own check on what a
// namer returns for a subject or a title.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(textsafe.StripInvisible(s)), "\n")
	return strings.TrimSpace(s)
}

// modelFailed says, in the log and as a step of the task, why the utility model's names for what
// (forBranch, forChange) were not used, with data (Sesame's own names) added to the step.
func (r *Runner) modelFailed(ctx context.Context, t *sesame.Task, what string, err error, data map[string]any, log *slog.Logger) {
	reason := "it gave none"
	if err != nil {
		reason = r.masker().String(err.Error())
	}
	log.Warn("utility model not used; Sesame's own names instead", "for", what, "reason", reason)
	if data == nil {
		data = map[string]any{}
	}
	data["for"], data["by"], data["reason"] = what, bySesame, reason
	r.note(context.WithoutCancel(ctx), t, unnamedStep[what]+": "+reason, data)
}

// recordedNames returns the branch and pull request title the utility model gave t in an earlier
// run, as its step events recorded them; "" for none.
func (r *Runner) recordedNames(ctx context.Context, t *sesame.Task, log *slog.Logger) (branch, prTitle string) {
	events, err := r.Store.Events(ctx, t.ID)
	if err != nil {
		log.Warn("read the task's events for its branch name", "err", err)
		return "", ""
	}
	for _, e := range events { // the last of each wins; Sesame's own names are recomputed, not read
		if e.Type != sesame.EventStep {
			continue
		}
		mine, _ := e.Data["by"].(string)
		switch e.Data["for"] {
		case forBranch:
			branch, _ = e.Data["branch"].(string)
			if mine != byModel || sesame.CheckBranch(branch) != nil {
				branch = ""
			}
		case forChange:
			prTitle, _ = e.Data["title"].(string)
			if prTitle = oneLine(prTitle); mine != byModel {
				prTitle = ""
			}
		}
	}
	return branch, prTitle
}

// prTitle is the title of the pull request o opens for t: the utility model's, else the instruction's.
func (o outcome) prTitle(t *sesame.Task) string {
	if o.title != "" {
		return o.title
	}
	return title(t.Instruction)
}
