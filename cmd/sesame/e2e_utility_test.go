package main_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
)

const utilityKey = "sk-utility-e2e-key-0123456789abcdef"

// typoFixWithKey fixes the README's typo and leaves the agent's own API key in a file: the diff the
// utility model is sent holds it, masked.
func typoFixWithKey() []modeltest.Step {
	return []modeltest.Step{
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md; printf 'key=%s\n' "$ANTHROPIC_API_KEY" > key.txt`),
		{Text: "Fixed the typo in README.md."},
	}
}

// The utility model (AI_BASE_URL on the fake) names the branch, writes the commit's subject and body
// and titles the pull request; it is sent the request and the diff, masked.
func TestEndToEndUtilityModelNames(t *testing.T) {
	gh := githubtest.NewServer(t)
	bare := fixture(t, gh)
	model := modeltest.NewServer(t, typoFixWithKey()...)
	util := modeltest.NewUtilityServer(t, func(q modeltest.Question) modeltest.Step {
		if strings.Contains(q.System, "git branches") {
			return modeltest.Step{Text: "fix-readme-typo"}
		}
		return modeltest.Step{Text: `{"subject": "Correct the spelling of \"the\" in the README", "body": "The README said teh.", "title": "Correct a typo in the README"}`}
	})
	p, _, dbURL := prEnv(t, gh, model, "AI_API_KEY="+utilityKey, "AI_BASE_URL="+util.URL+"/v1", "AI_MODEL=utility-e2e")

	_, resp := deliver(t, p, "utility-1", commentPayload(t, "alice", "/sesame fix the typo in README"))
	id := resp["task_id"]
	if status, reason := waitEnded(t, dbURL, id, 3*time.Minute); status != "completed" {
		t.Fatalf("task ended %s: %s", status, reason)
	}
	prs := gh.PullRequests(repo)
	if len(prs) != 1 {
		t.Fatalf("%d pull requests, want 1", len(prs))
	}
	pr := prs[0]
	if !strings.HasPrefix(pr.Head, "sesame/1-fix-readme-typo-") || len(pr.Head) != len("sesame/1-fix-readme-typo-")+6 {
		t.Errorf("PR head %q, want sesame/1-fix-readme-typo-<6 hex digits of the task id>", pr.Head)
	}
	if pr.Title != "Correct a typo in the README" {
		t.Errorf("PR title %q, want the utility model's", pr.Title)
	}
	if got := gitOut(t, bare, "branch", "--list", pr.Head); !strings.Contains(got, pr.Head) {
		t.Errorf("branch %s not pushed", pr.Head)
	}
	msg := gitOut(t, bare, "log", "-1", "--format=%B", pr.Head)
	if !strings.HasPrefix(msg, "Correct the spelling of \"the\" in the README\n\nThe README said teh.\n\n") ||
		!strings.Contains(msg, "Sesame task: https://sesame.example.com/tasks/"+id) {
		t.Errorf("commit message, want the utility model's subject and body, then Sesame's lines:\n%s", msg)
	}

	qs := util.Questions()
	if len(qs) != 2 {
		t.Fatalf("%d utility questions, want 2", len(qs))
	}
	for i, q := range qs {
		t.Logf("utility question %d (model %s):\n%s", i+1, q.Model, q.User) // what the fake received
		if q.Model != "utility-e2e" || !strings.Contains(q.User, "fix the typo in README") || !strings.Contains(q.User, repo) {
			t.Errorf("question %d lacks the model, the request or the repository: %+v", i+1, q)
		}
	}
	for _, want := range []string{"+This fixes the typo.", "key.txt", "+key=********"} {
		if !strings.Contains(qs[1].User, want) {
			t.Errorf("the change question lacks %q", want)
		}
	}
	for _, r := range util.Requests() {
		if r.Headers.Get("Authorization") != "set" || r.Path != "/v1/chat/completions" {
			t.Errorf("utility request %s, Authorization %q; want /v1/chat/completions with the key", r.Path, r.Headers.Get("Authorization"))
		}
		if strings.Contains(string(r.Body), anthropicKey) || strings.Contains(string(r.Body), utilityKey) {
			t.Errorf("a secret reached the utility model")
		}
	}
	if logs := p.Logs() + allStored(t, dbURL); strings.Contains(logs, utilityKey) {
		t.Errorf("AI_API_KEY was logged or stored")
	}
}

// A utility model that never answers costs the task its timeout (10 s a question); the task completes
// with Sesame's own names and says why.
func TestEndToEndUtilityModelHangs(t *testing.T) {
	gh := githubtest.NewServer(t)
	bare := fixture(t, gh)
	model := modeltest.NewServer(t, modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`), modeltest.Step{Text: "Fixed the typo."})
	util := modeltest.NewUtilityServer(t, func(modeltest.Question) modeltest.Step { return modeltest.Step{Hang: true} })
	p, _, dbURL := prEnv(t, gh, model, "AI_BASE_URL="+util.URL+"/v1") // a local model: no key

	_, resp := deliver(t, p, "utility-hang", commentPayload(t, "alice", "/sesame fix the typo in README"))
	id := resp["task_id"]
	if status, reason := waitEnded(t, dbURL, id, 3*time.Minute); status != "completed" {
		t.Fatalf("task ended %s: %s", status, reason)
	}
	prs := gh.PullRequests(repo)
	if len(prs) != 1 || !strings.HasPrefix(prs[0].Head, "sesame/1-fix-the-typo-in-readme-") || prs[0].Title != "Fix the typo in README" {
		t.Fatalf("pull requests = %+v; want one from sesame/1-fix-the-typo-in-readme-… titled Fix the typo in README", prs)
	}
	if subject := gitOut(t, bare, "log", "-1", "--format=%s", prs[0].Head); subject != "Fix the typo in README\n" {
		t.Errorf("commit subject %q, want Sesame's", subject)
	}

	reqs := util.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d utility requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if r.Headers.Get("Authorization") != "" {
			t.Errorf("an Authorization header went to a model without a key")
		}
	}
	steps := stepMessages(t, dbURL, id)
	const noBranch = "the utility model did not name the branch: utility model at " // then its URL and the reason
	const noCommit = "the utility model did not write the commit message: utility model at "
	var named, written time.Time
	for msg, at := range steps {
		switch {
		case strings.HasPrefix(msg, noBranch) && strings.HasSuffix(msg, "gave no answer within 10s"):
			named = at
		case strings.HasPrefix(msg, noCommit) && strings.HasSuffix(msg, "gave no answer within 10s"):
			written = at
		}
	}
	if named.IsZero() || written.IsZero() {
		t.Fatalf("the steps do not say why Sesame's names were used: %v", steps)
	}
	// From the question sent to the fallback recorded: the timeout, and little more.
	fallback := named.Sub(reqs[0].Time)
	t.Logf("fallback after %s (branch), %s (commit message)", fallback.Round(time.Millisecond), written.Sub(reqs[1].Time).Round(time.Millisecond))
	if fallback < 9500*time.Millisecond || fallback > 12*time.Second { // the event's time is the database's clock
		t.Errorf("Sesame named the branch %s after asking, want about 10 s", fallback)
	}
	if !strings.Contains(p.Logs(), "gave no answer within 10s") {
		t.Errorf("the log does not say why the utility model was not used")
	}
	if r := replies(gh); len(r) != 1 || !strings.Contains(r[0].Body, "opened #") {
		t.Errorf("final reply = %+v", r)
	}
}
