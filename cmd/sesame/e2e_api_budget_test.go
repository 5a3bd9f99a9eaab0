package main_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// apiCalls counts the REST calls among requests (git's smart HTTP left out): all of them, those
// GitHub counts against the installation's rate limit (a 304 answer to a conditional request is not),
// and the edits of comments among them (the progress comment's, whose number grows with the task's time).
func apiCalls(requests []githubtest.Request) (all, counted, edits int, lines []string) {
	for _, r := range requests {
		if strings.HasSuffix(r.Path, "/info/refs") || strings.HasSuffix(r.Path, "-pack") {
			continue
		}
		all++
		if r.Status != http.StatusNotModified {
			counted++
		}
		if r.Method == http.MethodPatch && strings.Contains(r.Path, "/issues/comments/") {
			edits++
		}
		lines = append(lines, r.Method+" "+r.Path+" "+http.StatusText(r.Status))
	}
	return all, counted, edits, lines
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

	var others [2]int // calls counted against the rate limit, comment edits left out
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
		start := time.Now()
		_, resp := deliver(t, p, "calls-"+itoa(i), payload)
		if status, reason := waitEnded(t, dbURL, resp["task_id"], 3*time.Minute); status != "completed" {
			t.Fatalf("task %d ended %s: %s", i, status, reason)
		}
		took := time.Since(start)
		time.Sleep(300 * time.Millisecond) // the 🚀 after the final edit
		all, n, edits, lines := apiCalls(gh.Requests()[before:])
		others[i] = n - edits
		t.Logf("task %d (%s): %d GitHub API calls, %d counted against the rate limit, %d of them comment edits:\n  %s",
			i+1, took.Round(100*time.Millisecond), all, n, edits, strings.Join(lines, "\n  "))
		// The progress comment is edited at most once per 5 s of the task (coalesced), plus the result.
		if most := 1 + int(took/(5*time.Second)) + 1; edits > most {
			t.Errorf("task %d took %s and edited its comment %d times, want at most %d", i+1, took.Round(100*time.Millisecond), edits, most)
		}
	}
	if others[1] >= others[0] {
		t.Errorf("the second task spent %d calls of the rate limit besides edits, the first %d: nothing was revalidated", others[1], others[0])
	}
	// Token, permission, 👀, the progress comment, the repository, the pull request and 🚀.
	if others[0] > 7 {
		t.Errorf("a typical task spent %d calls of the rate limit besides comment edits, want at most 7", others[0])
	}
}
