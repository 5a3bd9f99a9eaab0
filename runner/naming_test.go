package runner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/gitops"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/mask"
	"github.com/sesame-works/sesame/runner"
	"github.com/sesame-works/sesame/utility"
)

var _ runner.Namer = (*utility.Client)(nil)

// namer points the runner at a fake utility model (a local one: a base URL of its own, no key) that
// answers the branch question with words and the change question with change.
func namer(t *testing.T, h *agentHarness, words, change string) *modeltest.UtilityServer {
	t.Helper()
	srv := modeltest.NewUtilityServer(t, utilityAnswers(words, change))
	h.runner.Namer = &utility.Client{Settings: func() utility.Settings { return utility.Settings{BaseURL: srv.URL + "/v1"} }}
	return srv
}

func utilityAnswers(words, change string) func(modeltest.Question) modeltest.Step {
	return func(q modeltest.Question) modeltest.Step {
		if strings.Contains(q.System, "git branches") {
			return modeltest.Step{Text: words}
		}
		return modeltest.Step{Text: change}
	}
}

// isBranchQuestion tells the utility model's two questions apart.
func isBranchQuestion(q modeltest.Question) bool { return strings.Contains(q.System, "git branches") }

// utilitySteps returns the task's step events about the utility model's names for what ("branch",
// "change").
func utilitySteps(t *testing.T, h *agentHarness, id, what string) []sesame.TaskEvent {
	t.Helper()
	events, err := h.store.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []sesame.TaskEvent
	for _, e := range events {
		if e.Type == sesame.EventStep && e.Data["for"] == what {
			out = append(out, e)
		}
	}
	return out
}

// The utility model names the branch, writes the commit message and titles the pull request; what it
// is sent passes the task's masker.
func TestUtilityModelNamesTheWork(t *testing.T) {
	const secret = "runner-utility-secret-31415926"
	h := newAgentHarness(t,
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md; echo "token=`+secret+`" > notes.txt`),
		modeltest.Step{Text: "Fixed the typo in README.md."})
	h.runner.Masker.Add(secret)
	srv := namer(t, h, "fix-readme-typo",
		`{"subject": "Fix the typo in the README", "body": "teh becomes the.", "title": "Fix a typo in the README"}`)
	h.gh.SetPermission(repo, "alice", "write")
	task := h.task(t, "alice", sesame.KindRun, "fix the typo")

	if err := h.runner.Run(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	got := h.reload(t, task.ID)
	want := gitops.BranchName(5, "fix-readme-typo", task.ID)
	if got.Status != sesame.StatusCompleted || got.Branch != want {
		t.Fatalf("task = %s %q, branch %q; want completed on %s", got.Status, got.Reason, got.Branch, want)
	}
	if !strings.HasPrefix(want, "sesame/5-fix-readme-typo-") || sesame.CheckBranch(want) != nil {
		t.Fatalf("branch %q is not Sesame's shape", want)
	}
	prs := h.gh.PullRequests(repo)
	if len(prs) != 1 || prs[0].Head != want || prs[0].Title != "Fix a typo in the README" {
		t.Fatalf("pull requests = %+v; want one from %s titled by the model", prs, want)
	}
	msg := h.git(t, "log", "-1", "--format=%B", want)
	for _, line := range []string{"Fix the typo in the README\n\nteh becomes the.\n\n", "Sesame task: https://sesame.example.com/tasks/" + task.ID, "Co-authored-by: Sesame"} {
		if !strings.Contains(msg, line) {
			t.Errorf("commit message lacks %q:\n%s", line, msg)
		}
	}

	qs := srv.Questions()
	if len(qs) != 2 || !isBranchQuestion(qs[0]) || isBranchQuestion(qs[1]) {
		t.Fatalf("utility questions = %+v; want the branch, then the change", qs)
	}
	change := qs[1].User
	for _, want := range []string{"fix the typo", "+This fixes the typo.", "-This fixes teh typo.", "notes.txt", "token=" + mask.Replacement} {
		if !strings.Contains(change, want) {
			t.Errorf("change question lacks %q:\n%s", want, change)
		}
	}
	for _, r := range srv.Requests() {
		if strings.Contains(string(r.Body), secret) {
			t.Errorf("the secret reached the utility model: %s", r.Body)
		}
		if r.Headers.Get("Authorization") != "" {
			t.Errorf("an Authorization header went to a model without a key")
		}
	}
	if named := utilitySteps(t, h, task.ID, "branch"); len(named) != 1 || named[0].Data["branch"] != want || named[0].Data["by"] != "utility model" {
		t.Errorf("branch named steps = %+v", named)
	}
}

// A utility model that never answers costs a task twice the client's timeout; the task goes on with
// Sesame's own names and says why.
func TestUtilityModelHangsTaskGoesOn(t *testing.T) {
	h := newAgentHarness(t, typoFix()...)
	srv := modeltest.NewUtilityServer(t, func(modeltest.Question) modeltest.Step { return modeltest.Step{Hang: true} })
	h.runner.Namer = &utility.Client{Timeout: time.Second,
		Settings: func() utility.Settings {
			return utility.Settings{APIKey: "sk-utility-runner-test-0123456789", BaseURL: srv.URL}
		}}
	h.gh.SetPermission(repo, "alice", "write")
	task := h.task(t, "alice", sesame.KindRun, "fix the typo")

	if err := h.runner.Run(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	got := h.reload(t, task.ID)
	want := gitops.BranchName(5, "fix the typo", task.ID)
	if got.Status != sesame.StatusCompleted || got.Branch != want {
		t.Fatalf("task = %s %q, branch %q; want completed on %s", got.Status, got.Reason, got.Branch, want)
	}
	if prs := h.gh.PullRequests(repo); len(prs) != 1 || prs[0].Title != "Fix the typo" {
		t.Fatalf("pull requests = %+v; want one titled Fix the typo", prs)
	}
	if subject := h.git(t, "log", "-1", "--format=%s", want); subject != "Fix the typo\n" {
		t.Errorf("commit subject = %q, want Sesame's", subject)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d utility requests, want 2", n)
	}
	for _, what := range []string{"branch", "change"} {
		named := utilitySteps(t, h, task.ID, what)
		if len(named) != 1 || named[0].Data["by"] != "Sesame" || !strings.Contains(named[0].Message, "no answer within 1s") {
			t.Errorf("%s steps = %+v; want one saying Sesame named it because the model gave no answer within 1s", what, named)
		}
	}
}

// A task whose worker died after the utility model named its branch runs again on that branch, even
// though the model would now name it otherwise.
func TestRestartKeepsTheModelsBranch(t *testing.T) {
	h := newAgentHarness(t, modeltest.Step{Hang: true})
	srv := namer(t, h, "first-words", `{"subject": "Fix the typo"}`)
	h.gh.SetPermission(repo, "alice", "write")
	task := h.task(t, "alice", sesame.KindRun, "fix the typo")

	// The first worker: the model names the branch, the agent hangs, the worker goes away.
	ctx, cancel := context.WithCancel(context.Background())
	done := h.run(t, ctx, task.ID)
	h.waitHang(t)
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Run of the interrupted worker returned nil, want the interruption")
	}
	first := gitops.BranchName(5, "first-words", task.ID)
	if got := h.reload(t, task.ID); got.Status.Final() {
		t.Fatalf("task ended %s after its worker went away", got.Status)
	}

	// The next worker: the model now says otherwise, and is not asked.
	srv.SetAnswer(utilityAnswers("second-words", `{"subject": "Fix the typo", "title": "Fix the README typo"}`))
	h.model.SetSteps(typoFix()...)
	if err := h.runner.Run(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	got := h.reload(t, task.ID)
	if got.Status != sesame.StatusCompleted || got.Branch != first || got.Restarts != 1 {
		t.Fatalf("task = %s %q, branch %q, restarts %d; want completed on %s after 1 restart", got.Status, got.Reason, got.Branch, got.Restarts, first)
	}
	if prs := h.gh.PullRequests(repo); len(prs) != 1 || prs[0].Head != first || prs[0].Title != "Fix the README typo" {
		t.Fatalf("pull requests = %+v; want one from %s", prs, first)
	}
	branches := 0
	for _, q := range srv.Questions() {
		if isBranchQuestion(q) {
			branches++
		}
	}
	if branches != 1 {
		t.Errorf("the model was asked for a branch %d times, want once", branches)
	}
}

// A worker died while pushing the branch the utility model named: the task resumes from the push,
// on that branch, with the model's title, and asks the model nothing.
func TestResumeFromPushKeepsTheModelsNames(t *testing.T) {
	h := newAgentHarness(t)
	srv := namer(t, h, "other-words", `{"subject": "Other"}`)
	ctx := context.Background()
	h.gh.SetPermission(repo, "alice", "write")
	task := h.task(t, "alice", sesame.KindRun, "fix the typo")
	branch := gitops.BranchName(5, "model-words", task.ID)
	// What the dead worker recorded before it pushed (runner/naming.go's step events).
	for _, e := range []sesame.TaskEvent{
		{TaskID: task.ID, Type: sesame.EventStep, Message: "branch named by the utility model",
			Data: map[string]any{"for": "branch", "branch": branch, "by": "utility model"}},
		{TaskID: task.ID, Type: sesame.EventStep, Message: "commit message and pull request title written by the utility model",
			Data: map[string]any{"for": "change", "subject": "Fix it", "title": "Model title", "by": "utility model"}},
	} {
		if _, err := h.store.AddEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	h.pushBranch(t, branch)
	h.dies(t, task.ID, sesame.StatusPreparing, sesame.StatusRunning, sesame.StatusPushing)

	if err := h.runner.Run(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	got := h.reload(t, task.ID)
	if got.Status != sesame.StatusCompleted || got.Branch != branch {
		t.Fatalf("task = %s %q, branch %q; want completed from %s", got.Status, got.Reason, got.Branch, branch)
	}
	if prs := h.gh.PullRequests(repo); len(prs) != 1 || prs[0].Head != branch || prs[0].Title != "Model title" {
		t.Fatalf("pull requests = %+v; want one from %s titled Model title", prs, branch)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("the utility model was asked %d times on resume, want none", n)
	}
}
