package main_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// prCommentPayload is the example issue_comment payload for a new comment with id on pull request number.
func prCommentPayload(t *testing.T, login, body string, number int, id int64) []byte {
	t.Helper()
	var p map[string]any
	json.Unmarshal(commentWithID(t, login, body, id), &p)
	issue := p["issue"].(map[string]any)
	issue["number"] = number
	issue["pull_request"] = map[string]any{
		"url":      "https://api.github.com/repos/" + repo + "/pulls/" + itoa(number),
		"html_url": "https://github.com/" + repo + "/pull/" + itoa(number),
	}
	out, _ := json.Marshal(p)
	return out
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// pushCommit commits files on branch of the bare repository, as someone pushing by hand would, and
// returns the commit.
func pushCommit(t *testing.T, bare, branch, message string, files map[string]string) string {
	t.Helper()
	work := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=Bob", "-c", "user.email=bob@example.com"}, args...)...)
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("clone", "--quiet", "--branch", branch, bare, ".")
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("add", "--all")
	git("commit", "--quiet", "-m", message)
	git("push", "--quiet", "origin", "HEAD:refs/heads/"+branch)
	return git("rev-parse", "HEAD")
}

// sesamePR makes the branch and pull request a first Sesame task would have left: one commit on
// sesame/1-fix-the-typo, opened by the app.
func sesamePR(t *testing.T, gh *githubtest.Server, bare string) githubtest.PullRequest {
	t.Helper()
	const branch = "sesame/1-fix-the-typo-0193a1"
	gitOut(t, bare, "branch", branch, "main")
	pushCommit(t, bare, branch, "Start the fix", map[string]string{"CHANGELOG.md": "- Fix the typo.\n"})
	return gh.AddPullRequest(repo, githubtest.PullRequest{Title: "Fix the typo in README", Body: "Fixes #1.", Head: branch, Base: "main", User: gh.BotLogin()})
}

// agentTurns returns the bodies of the agent's requests to the model.
func agentTurns(model *modeltest.Server) []string {
	var out []string
	for _, r := range model.Requests() {
		if r.Step >= 0 {
			out = append(out, string(r.Body))
		}
	}
	return out
}

// A /sesame comment on Sesame's own pull request works on its branch: the agent is told the pull
// request and its conversation, its commit lands on the branch (replayed onto a commit someone
// pushed meanwhile, never forced), no second pull request is opened, and the reply links the commit.
func TestEndToEndFollowUpOnPullRequest(t *testing.T) {
	gh := githubtest.NewServer(t)
	bare := fixture(t, gh)
	pr := sesamePR(t, gh, bare)
	gh.AddComment(githubtest.Comment{Repo: repo, IssueNumber: pr.Number, User: "bob", Body: "Looks good; keep the wording short."})
	const commentID = 7_700_000_001
	gh.AddComment(githubtest.Comment{ID: commentID, Repo: repo, IssueNumber: pr.Number, User: "alice", Body: "/sesame fix the typo in README too"})
	model := modeltest.NewServer(t,
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md && sleep 6`),
		modeltest.Step{Text: "Fixed the typo in README.md on the pull request."},
	)
	p, _, dbURL := prEnv(t, gh, model)

	code, resp := deliver(t, p, "follow-up", prCommentPayload(t, "alice", "/sesame fix the typo in README too", pr.Number, commentID))
	if code != http.StatusAccepted {
		t.Fatalf("webhook answered %d %v", code, resp)
	}
	// While the agent works, someone pushes to the pull request's branch.
	gh.WaitFor(t, func() bool { return len(agentTurns(model)) > 0 }, 2*time.Minute)
	theirs := pushCommit(t, bare, pr.Head, "Note from bob", map[string]string{"NOTES.md": "bob was here\n"})

	if status, reason := waitEnded(t, dbURL, resp["task_id"], 3*time.Minute); status != "completed" {
		t.Fatalf("task ended %s: %s\n%s", status, reason, p.Logs())
	}
	turn := agentTurns(model)[0]
	for _, want := range []string{"pull request #" + itoa(pr.Number), "Fix the typo in README", pr.Head, "keep the wording short", "@bob"} {
		if !strings.Contains(turn, want) {
			t.Errorf("the agent was not told %q", want)
		}
	}
	if prs := gh.PullRequests(repo); len(prs) != 1 {
		t.Errorf("%d pull requests, want the one it worked on", len(prs))
	}
	head := strings.TrimSpace(gitOut(t, bare, "rev-parse", pr.Head))
	if parent := strings.TrimSpace(gitOut(t, bare, "rev-parse", head+"^")); parent != theirs {
		t.Errorf("the new commit's parent is %s, want bob's commit %s on top of which it was replayed", parent, theirs)
	}
	if readme := gitOut(t, bare, "show", head+":README.md"); !strings.Contains(readme, "fixes the typo") {
		t.Errorf("README.md on the branch = %q, want the fix", readme)
	}
	for _, f := range []string{"NOTES.md", "CHANGELOG.md"} {
		gitOut(t, bare, "show", head+":"+f) // fails the test when the earlier commits' files are gone
	}
	if n := strings.TrimSpace(gitOut(t, bare, "rev-list", "--count", "main.."+pr.Head)); n != "3" {
		t.Errorf("%s commits on the branch past main, want 3 (the first, bob's, the task's)", n)
	}
	final := replies(gh)
	if len(final) != 1 || !strings.Contains(final[0].Body, "/pull/"+itoa(pr.Number)+"/commits/"+head) || !strings.Contains(final[0].Body, "replayed onto the new head") {
		t.Errorf("the reply does not link the pushed commit and say it was replayed: %+v", final)
	}
	if final[0].IssueNumber != pr.Number {
		t.Errorf("replied on #%d, want the pull request #%d", final[0].IssueNumber, pr.Number)
	}
}

// When the branch moved during the run and the agent's change conflicts with the new commit, nothing
// is pushed and the reply says why.
func TestEndToEndFollowUpRefusesConflict(t *testing.T) {
	gh := githubtest.NewServer(t)
	bare := fixture(t, gh)
	pr := sesamePR(t, gh, bare)
	const commentID = 7_700_000_002
	gh.AddComment(githubtest.Comment{ID: commentID, Repo: repo, IssueNumber: pr.Number, User: "alice", Body: "/sesame fix the typo in README"})
	model := modeltest.NewServer(t,
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md && sleep 6`),
		modeltest.Step{Text: "Fixed."},
	)
	p, _, dbURL := prEnv(t, gh, model)
	_, resp := deliver(t, p, "conflict", prCommentPayload(t, "alice", "/sesame fix the typo in README", pr.Number, commentID))
	gh.WaitFor(t, func() bool { return len(agentTurns(model)) > 0 }, 2*time.Minute)
	theirs := pushCommit(t, bare, pr.Head, "Fix it by hand", map[string]string{"README.md": "# Hello\n\nThis fixes the typo, by hand.\n"})

	status, reason := waitEnded(t, dbURL, resp["task_id"], 3*time.Minute)
	if status != "failed" || !strings.Contains(reason, "conflict") || !strings.Contains(reason, "pushed nothing") {
		t.Fatalf("task %s %q, want failed for a conflict", status, reason)
	}
	if head := strings.TrimSpace(gitOut(t, bare, "rev-parse", pr.Head)); head != theirs {
		t.Errorf("the branch moved to %s after a conflict, want it left at %s", head, theirs)
	}
	if r := replies(gh); len(r) != 1 || !strings.Contains(r[0].Body, "conflict") {
		t.Errorf("the reply does not explain the conflict: %+v", r)
	}
}

// A pull request from a fork is answered, not run: Sesame cannot push to the fork's branch.
func TestEndToEndForkPullRequestIsRefused(t *testing.T) {
	gh := githubtest.NewServer(t)
	fixture(t, gh)
	pr := gh.AddPullRequest(repo, githubtest.PullRequest{Title: "Typo", Head: "patch-1", Base: "main", HeadRepo: "mallory/Hello-World", User: "mallory"})
	const commentID = 7_700_000_003
	gh.AddComment(githubtest.Comment{ID: commentID, Repo: repo, IssueNumber: pr.Number, User: "alice", Body: "/sesame fix the typo"})
	model := modeltest.NewServer(t, modeltest.Step{Text: "should never run"})
	p, _, dbURL := prEnv(t, gh, model)
	_, resp := deliver(t, p, "fork", prCommentPayload(t, "alice", "/sesame fix the typo", pr.Number, commentID))

	status, reason := waitEnded(t, dbURL, resp["task_id"], 2*time.Minute)
	if status != "failed" || !strings.Contains(reason, "fork mallory/Hello-World") {
		t.Fatalf("task %s %q, want failed naming the fork", status, reason)
	}
	if n := len(agentTurns(model)); n != 0 {
		t.Errorf("the agent ran %d turns on a fork's pull request", n)
	}
	if pushes := gh.Pushes(repo); len(pushes) != 0 {
		t.Errorf("pushed %v", pushes)
	}
	if r := replies(gh); len(r) != 1 || !strings.Contains(r[0].Body, "fork") {
		t.Errorf("the reply does not explain: %+v", r)
	}
}

// reviewCommentPayload is GitHub's example pull_request_review_comment payload for review comment c
// of pull request number, written by login.
func reviewCommentPayload(t *testing.T, login string, number int, c githubtest.ReviewComment) []byte {
	t.Helper()
	raw, err := os.ReadFile("../../bot/testdata/github/pull_request_review_comment.created.json")
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	json.Unmarshal(raw, &p)
	comment := p["comment"].(map[string]any)
	comment["id"], comment["body"], comment["path"], comment["line"], comment["diff_hunk"] = c.ID, c.Body, c.Path, c.Line, c.DiffHunk
	comment["user"].(map[string]any)["login"] = login
	p["sender"].(map[string]any)["login"] = login
	p["pull_request"].(map[string]any)["number"] = number
	out, _ := json.Marshal(p)
	return out
}

// A /sesame review comment on a line of a pull request works on its branch, with the file, the line
// and the diff given to the agent, and is answered in the comment's thread.
func TestEndToEndReviewCommentRepliesInThread(t *testing.T) {
	gh := githubtest.NewServer(t)
	bare := fixture(t, gh)
	pr := sesamePR(t, gh, bare)
	rc := gh.AddReviewComment(githubtest.ReviewComment{Repo: repo, PullNumber: pr.Number, User: "alice", Path: "README.md", Line: 3,
		DiffHunk: "@@ -1,3 +1,3 @@\n # Hello\n \n-This fixes teh typo.", Body: "/sesame fix the spelling on this line"})
	model := modeltest.NewServer(t,
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`),
		modeltest.Step{Text: "Fixed the spelling on line 3."},
	)
	p, _, dbURL := prEnv(t, gh, model)

	req := githubtest.NewWebhookRequest("http://"+p.addr+"/webhooks/github", "pull_request_review_comment", "review-1", webhookSecret,
		reviewCommentPayload(t, "alice", pr.Number, rc))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var resp map[string]string
	json.NewDecoder(res.Body).Decode(&resp)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook answered %d %v", res.StatusCode, resp)
	}
	if status, reason := waitEnded(t, dbURL, resp["task_id"], 3*time.Minute); status != "completed" {
		t.Fatalf("task ended %s: %s\nGitHub refused: %v", status, reason, refusedRequests(gh))
	}
	turn := agentTurns(model)[0]
	for _, want := range []string{"line 3 of README.md", "-This fixes teh typo.", "review comment on pull request #" + itoa(pr.Number)} {
		if !strings.Contains(turn, want) {
			t.Errorf("the agent was not told %q", want)
		}
	}
	head := strings.TrimSpace(gitOut(t, bare, "rev-parse", pr.Head))
	if readme := gitOut(t, bare, "show", head+":README.md"); !strings.Contains(readme, "fixes the typo") {
		t.Errorf("README.md on the pull request's branch = %q, want the fix", readme)
	}
	var thread []githubtest.ReviewComment
	for _, c := range gh.ReviewComments(repo) {
		if c.InReplyTo == rc.ID {
			thread = append(thread, c)
		}
	}
	if len(thread) != 1 || thread[0].User != gh.BotLogin() || !strings.Contains(thread[0].Body, "/pull/"+itoa(pr.Number)+"/commits/"+head) {
		t.Errorf("the review thread's replies = %+v, want one linking the pushed commit", thread)
	}
	if n := len(replies(gh)); n != 0 {
		t.Errorf("%d replies on the pull request's conversation, want none (the answer belongs to the review thread)", n)
	}
	if got := strings.Join(gh.Reactions(repo, rc.ID), ","); got != "eyes,rocket" {
		t.Errorf("reactions on the review comment = %s, want eyes,rocket", got)
	}
}

// refusedRequests lists the requests the fake GitHub answered with an error, for a failure's message.
func refusedRequests(gh *githubtest.Server) []string {
	var out []string
	for _, r := range gh.Requests() {
		if r.Status >= 400 {
			out = append(out, fmt.Sprintf("%s %s → %d", r.Method, r.Path, r.Status))
		}
	}
	return out
}
