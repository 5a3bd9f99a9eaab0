package main_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// apiCalls counts the REST calls among requests (git's smart HTTP left out): all of them, and those
// GitHub counts against the installation's rate limit (a 304 answer to a conditional request is not).
func apiCalls(requests []githubtest.Request) (all, counted int, lines []string) {
	for _, r := range requests {
		if strings.HasSuffix(r.Path, "/info/refs") || strings.HasSuffix(r.Path, "-pack") {
			continue
		}
		all++
		if r.Status != http.StatusNotModified {
			counted++
		}
		lines = append(lines, r.Method+" "+r.Path+" "+http.StatusText(r.Status))
	}
	return all, counted, lines
}

// TestEndToEndGitHubCallsPerTask runs two typical tasks one after the other on one repository and
// reports the GitHub API calls of each. The second spends less of the rate limit: what it reads
// again (the repository, the requester's permission) comes back 304 Not Modified.
func TestEndToEndGitHubCallsPerTask(t *testing.T) {
	gh := githubtest.NewServer(t)
	fixture(t, gh)
	model := modeltest.NewServer(t,
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md; sleep 7`),
		modeltest.Step{Text: "Fixed the typo in README.md."},
		modeltest.Bash(`echo "More." >> README.md; sleep 7`),
		modeltest.Step{Text: "Added a line."},
	)
	p, _, dbURL := prEnv(t, gh, model)

	var counted [2]int
	for i, c := range []struct {
		id    int64
		issue int
		body  string
	}{{0, 1, "/sesame fix the typo in README"}, {7_700_000_100, 1, "/sesame add a line to README"}} {
		before := len(gh.Requests())
		payload := commentPayload(t, "alice", c.body)
		if c.id != 0 {
			gh.AddComment(githubtest.Comment{ID: c.id, Repo: repo, IssueNumber: c.issue, User: "alice", Body: c.body})
			payload = commentWithID(t, "alice", c.body, c.id)
		}
		_, resp := deliver(t, p, "calls-"+itoa(i), payload)
		if status, reason := waitEnded(t, dbURL, resp["task_id"], 3*time.Minute); status != "completed" {
			t.Fatalf("task %d ended %s: %s", i, status, reason)
		}
		time.Sleep(300 * time.Millisecond) // the 🚀 after the final edit
		all, n, lines := apiCalls(gh.Requests()[before:])
		counted[i] = n
		t.Logf("task %d: %d GitHub API calls, %d counted against the rate limit:\n  %s", i+1, all, n, strings.Join(lines, "\n  "))
	}
	if counted[1] >= counted[0] {
		t.Errorf("the second task spent %d calls of the rate limit, the first %d: nothing was revalidated", counted[1], counted[0])
	}
	if counted[0] > 10 {
		t.Errorf("a typical task spent %d calls of the rate limit, want at most 10", counted[0])
	}
}
