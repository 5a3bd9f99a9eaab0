package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// changedComment is GitHub's example edited or deleted issue_comment payload for the comment with id,
// by its author login, with body.
func changedComment(t *testing.T, action, login, body string, id int64) []byte {
	t.Helper()
	var p map[string]any
	json.Unmarshal(commentWithID(t, login, body, id), &p)
	p["action"] = action
	out, _ := json.Marshal(p)
	return out
}

// taskTimes returns when the task with id started (left the queue) and finished; zero when not yet.
func taskTimes(t *testing.T, dbURL, id string) (started, finished time.Time) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var s, f *time.Time
	if err := conn.QueryRow(context.Background(), "SELECT started_at, finished_at FROM tasks WHERE id = $1", id).Scan(&s, &f); err != nil {
		t.Fatal(err)
	}
	if s != nil {
		started = *s
	}
	if f != nil {
		finished = *f
	}
	return started, finished
}

// replyOf returns the current body of Sesame's reply that links the task with id.
func replyOf(gh *githubtest.Server, id string) string {
	for _, c := range replies(gh) {
		if strings.Contains(c.Body, "/tasks/"+id+")") && !strings.Contains(c.Body, "Queued behind task [`"+id+"`]") {
			return c.Body
		}
	}
	return ""
}

// One task per thread, through the real binary and the real Claude Code CLI: a second request on an
// issue waits in line while the first runs (its reply says where), and its agent starts only once
// the first has ended; editing it while it waits changes what runs; a third, deleted while it
// waits, never runs.
func TestEndToEndOneTaskPerThread(t *testing.T) {
	gh := githubtest.NewServer(t)
	bare := fixture(t, gh)
	release := make(chan struct{})
	model := modeltest.NewServer(t,
		modeltest.Step{Text: "Hello from the first task.", Hold: release}, // the first task's agent, held mid-turn
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`),         // the second's, as edited
		modeltest.Step{Text: "Corrected the spelling in README.md."},
	)
	p, _, dbURL := prEnv(t, gh, model)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})

	comment := func(body string) (int64, []byte) {
		c := gh.AddComment(githubtest.Comment{Repo: repo, IssueNumber: 1, User: "alice", Body: body})
		return c.ID, commentWithID(t, "alice", body, c.ID)
	}
	submit := func(delivery string, payload []byte) string {
		t.Helper()
		code, resp := deliver(t, p, delivery, payload)
		if code != http.StatusAccepted || resp["task_id"] == "" {
			t.Fatalf("webhook %s answered %d %v, want 202 with a task", delivery, code, resp)
		}
		return resp["task_id"]
	}

	_, first := comment("/sesame say hello")
	firstID := submit("first", first)
	waitFor(t, "the first task's agent to ask the model", func() bool { return len(scriptedTurns(model)) > 0 })

	secondComment, second := comment("/sesame fix the typo in the README")
	secondID := submit("second", second)
	thirdComment, third := comment("/sesame delete the README")
	thirdID := submit("third", third)
	waitFor(t, "the waiting tasks' replies", func() bool {
		return strings.Contains(replyOf(gh, secondID), "(position 1)") && strings.Contains(replyOf(gh, thirdID), "(position 2)")
	})
	for _, id := range []string{secondID, thirdID} {
		body := replyOf(gh, id)
		if !strings.Contains(body, "Queued behind task [`"+firstID+"`](https://sesame.example.com/tasks/"+firstID+")") {
			t.Errorf("a waiting task's reply does not link the task it waits behind:\n%s", body)
		}
		if status, _ := taskStatus(t, dbURL, id); status != "queued" {
			t.Errorf("task %s is %s while the first runs, want queued", id, status)
		}
	}

	// While they wait, the second's comment is edited and the third's deleted.
	code, resp := deliver(t, p, "second-edited", changedComment(t, "edited", "alice", "/sesame correct the spelling mistake in README.md", secondComment))
	if code != http.StatusAccepted || resp["status"] != "edited" || resp["task_id"] != secondID {
		t.Fatalf("edit answered %d %v, want 202 edited", code, resp)
	}
	code, resp = deliver(t, p, "third-deleted", changedComment(t, "deleted", "alice", "/sesame delete the README", thirdComment))
	if code != http.StatusAccepted || resp["status"] != "cancelled" || resp["task_id"] != thirdID {
		t.Fatalf("deletion answered %d %v, want 202 cancelled", code, resp)
	}
	if status, reason := waitEnded(t, dbURL, thirdID, 30*time.Second); status != "stopped" || !strings.Contains(reason, "deleted the comment") {
		t.Fatalf("deleted request's task %s %q, want stopped for the deletion", status, reason)
	}
	waitFor(t, "the deleted request's reply to say so", func() bool { return strings.Contains(replyOf(gh, thirdID), "deleted the comment") })

	time.Sleep(2 * time.Second) // nothing else may start while the first runs
	if turns := scriptedTurns(model); len(turns) != 1 {
		t.Fatalf("%d agent turns while the first task runs, want its one held turn", len(turns))
	}
	close(release)

	if status, reason := waitEnded(t, dbURL, firstID, 2*time.Minute); status != "completed" {
		t.Fatalf("first task %s %q", status, reason)
	}
	if status, reason := waitEnded(t, dbURL, secondID, 3*time.Minute); status != "completed" {
		t.Fatalf("second task %s %q", status, reason)
	}
	_, firstEnded := taskTimes(t, dbURL, firstID)
	secondStarted, _ := taskTimes(t, dbURL, secondID)
	if !secondStarted.After(firstEnded) {
		t.Errorf("the second task started at %v, before the first ended at %v", secondStarted, firstEnded)
	}
	// The agent of the second ran the edited request, after the first's end; nobody ran the third.
	var sawEdited bool
	for _, req := range model.Requests() {
		body := string(req.Body)
		if strings.Contains(body, "fix the typo in the README") || strings.Contains(body, "delete the README") {
			t.Errorf("the model saw a request that was edited or deleted before it ran")
		}
		if strings.Contains(body, "correct the spelling mistake in README.md") {
			sawEdited = true
			if req.Time.Before(firstEnded) {
				t.Errorf("the second task's agent asked the model at %v, before the first ended at %v", req.Time, firstEnded)
			}
		}
	}
	if !sawEdited {
		t.Errorf("the model never saw the edited instruction")
	}
	prs := gh.PullRequests(repo)
	if len(prs) != 1 || !strings.Contains(prs[0].Body, "correct the spelling mistake") {
		t.Fatalf("pull requests = %+v, want one for the edited request", prs)
	}
	if got := gitOut(t, bare, "show", prs[0].Head+":README.md"); !strings.Contains(got, "fixes the typo") {
		t.Errorf("pushed README = %q, want the fix", got)
	}
	// The second's reply was the one that said it waited, now its result.
	posted := postedComments(gh)
	var queuedReplies int
	for _, b := range posted {
		if strings.Contains(b, "Queued behind task") {
			queuedReplies++
		}
	}
	if queuedReplies != 2 || len(posted) != 3 {
		t.Errorf("posted %d comments (%d saying they wait), want 3 (2): a reply per request, edited in place", len(posted), queuedReplies)
	}
	if body := replyOf(gh, secondID); !strings.Contains(body, "opened #") || strings.Contains(body, "Queued") {
		t.Errorf("the second's reply was not turned into its result:\n%s", body)
	}
}

// scriptedTurns returns the model requests of agent turns (those that took a step of the script).
func scriptedTurns(model *modeltest.Server) []modeltest.Request {
	var out []modeltest.Request
	for _, r := range model.Requests() {
		if r.Step >= 0 {
			out = append(out, r)
		}
	}
	return out
}
