package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/gitops"
	"github.com/sesame-works/sesame/internal/textsafe"
)

// A request made on a pull request works on that pull request: its head branch is checked out, the
// agent is told the pull request's text and conversation, and its changes are pushed on top of the
// branch as a new commit (never forced). No second pull request is opened.

// iterates reports whether t works on an existing pull request's branch rather than a new one.
func iterates(t *sesame.Task) bool { return t.IsPullRequest && t.IssueNumber > 0 }

// Bounds of what the agent is told of a pull request.
const (
	maxPRBody        = 4000  // runes of the description
	maxCommentRunes  = 2000  // runes of one comment
	maxConversation  = 10000 // runes of the conversation, latest comments first kept
	conversationNote = "(earlier comments left out)"
)

// pullRequestOf reads the pull request t was asked on, and its conversation. When the task cannot
// work on it (a fork's branch, a closed pull request, GitHub failing), the outcome to end with says why.
func (r *Runner) pullRequestOf(ctx context.Context, t *sesame.Task, log *slog.Logger) (*sesame.PullRequestInfo, []sesame.Comment, *outcome) {
	pr, err := r.Host.PullRequest(ctx, t.InstallationID, t.Repo, t.IssueNumber)
	if err != nil {
		log.Error("read the pull request", "err", err)
		o := failed("Sesame could not read pull request #%d of %s.", t.IssueNumber, t.Repo)
		return nil, nil, &o
	}
	switch {
	case pr.FromFork(t.Repo):
		where := "a repository that no longer exists"
		if pr.HeadRepo != "" {
			where = "the fork " + pr.HeadRepo
		}
		o := failed("This pull request's branch is in %s, and Sesame pushes only to branches of %s, so it did not run. "+
			"Push the branch to %s, or ask on an issue for a new pull request.", where, t.Repo, t.Repo)
		return nil, nil, &o
	case pr.Merged || pr.State != "open":
		o := failed("Pull request #%d is closed, so Sesame did not add to it. Reopen it, or ask on an issue for a new pull request.", pr.Number)
		return nil, nil, &o
	}
	conversation, err := r.Host.Conversation(ctx, t.InstallationID, t.Repo, t.IssueNumber)
	if err != nil { // the agent works without it
		log.Warn("read the pull request's conversation", "err", err)
	}
	return &pr, conversation, nil
}

// pullRequestPrompt tells the agent which pull request it works on, with its description and
// conversation, cut to bounds, latest comments kept. None of it is an instruction of Sesame's.
func pullRequestPrompt(pr *sesame.PullRequestInfo, conversation []sesame.Comment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n\nYou are working on pull request #%d, %q: its branch %s is checked out, and your changes become a new commit on it.",
		pr.Number, textsafe.StripInvisible(pr.Title), pr.HeadRef)
	if body := strings.TrimSpace(textsafe.StripInvisible(pr.Body)); body != "" {
		fmt.Fprintf(&b, "\n\nThe pull request's description:\n%s", quoteBlock(cutRunes(body, maxPRBody)))
	}
	var kept []string
	left := maxConversation
	for i := len(conversation) - 1; i >= 0; i-- {
		c := conversation[i]
		line := fmt.Sprintf("@%s wrote:\n%s", c.Author, quoteBlock(cutRunes(strings.TrimSpace(textsafe.StripInvisible(c.Body)), maxCommentRunes)))
		if n := len([]rune(line)); n > left {
			kept = append(kept, conversationNote)
			break
		} else {
			left -= n
		}
		kept = append(kept, line)
	}
	if len(kept) > 0 {
		b.WriteString("\n\nThe conversation on the pull request so far, oldest first:")
		for i := len(kept) - 1; i >= 0; i-- {
			b.WriteString("\n\n" + kept[i])
		}
	}
	return b.String()
}

func quoteBlock(s string) string { return "> " + strings.ReplaceAll(s, "\n", "\n> ") }

// cutRunes cuts s to n runes, marking the cut.
func cutRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// pushIteration pushes the commit made in workspace on top of the pull request's branch, replayed
// onto the branch's new head when it moved during the run, and returns o ended: completed with the
// pushed commit, or failed saying why nothing was pushed.
func (r *Runner) pushIteration(ctx context.Context, t *sesame.Task, o outcome, pr *sesame.PullRequestInfo, workspace, mirror, cloneURL, token string, log *slog.Logger) outcome {
	commit, rebased, err := gitops.PushRebased(ctx, workspace, mirror, cloneURL, token, pr.HeadRef)
	switch {
	case errors.Is(err, gitops.ErrRebaseConflict):
		log.Warn("push onto the pull request", "err", r.masker().String(err.Error()))
		o.status, o.reason = sesame.StatusFailed, fmt.Sprintf("The branch %s moved while the agent worked, and its changes conflict with the new commits, "+
			"so Sesame pushed nothing. Ask again to start from the branch as it is now.", pr.HeadRef)
		return o
	case err != nil:
		log.Error("push onto the pull request", "err", r.masker().String(err.Error()))
		o.status, o.reason = sesame.StatusFailed, fmt.Sprintf("Sesame could not push to %s.", pr.HeadRef)
		return o
	}
	o.status, o.pushed, o.commits, o.rebased = sesame.StatusCompleted, true, []string{commit}, rebased
	o.prNumber, o.prURL = pr.Number, pr.URL
	r.note(ctx, t, "pushed to the pull request", map[string]any{"number": pr.Number, "branch": pr.HeadRef, "commit": commit, "rebased": rebased})
	// Recorded with the pull request: a worker dying now leaves a task that resumes by replying.
	if err := r.Store.SetResult(context.WithoutCancel(ctx), t.ID, o.result()); err != nil {
		log.Warn("record the push", "err", err)
	}
	return o
}
