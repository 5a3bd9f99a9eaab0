package bot_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/internal/githubtest"
)

// progressStore records the progress comment ids the origin remembers.
type progressStore struct {
	mu  sync.Mutex
	ids map[string]int64
}

func (s *progressStore) SetProgressComment(_ context.Context, id string, commentID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[string]int64{}
	}
	s.ids[id] = commentID
	return nil
}

// hideSecret masks one secret, as the server's masker would.
type hideSecret struct{}

func (hideSecret) String(s string) string { return strings.ReplaceAll(s, "ghs_secret", "[masked]") }

func originFixture(t *testing.T, interval time.Duration) (*githubtest.Server, *bot.GitHubOrigin, *progressStore, *sesame.Task) {
	t.Helper()
	gh := githubtest.NewServer(t)
	gh.AddInstallation(9, "octo/hello")
	gh.SetPermission("octo/hello", "alice", "write")
	asked := gh.AddComment(githubtest.Comment{Repo: "octo/hello", IssueNumber: 1, User: "alice", Body: "/sesame fix the typo"})
	store := &progressStore{}
	o := &bot.GitHubOrigin{GitHub: &bot.GitHub{App: newApp(t, gh, nil)}, Tasks: store, Masker: hideSecret{}, Interval: interval,
		TaskURL: func(id string) string { return "https://sesame.example.com/tasks/" + id }}
	task := &sesame.Task{ID: "01task", Status: sesame.StatusQueued, Request: sesame.Request{Source: sesame.SourceGitHub,
		InstallationID: 9, Repo: "octo/hello", IssueNumber: 1, CommentID: asked.ID, Requester: "alice", Instruction: "fix the typo"}}
	return gh, o, store, task
}

// edits counts the PATCHes of issue comments the fake GitHub answered.
func edits(gh *githubtest.Server) int {
	n := 0
	for _, r := range gh.Requests() {
		if r.Method == "PATCH" && strings.Contains(r.Path, "/issues/comments/") {
			n++
		}
	}
	return n
}

func botComments(gh *githubtest.Server) []githubtest.Comment {
	var out []githubtest.Comment
	for _, c := range gh.Comments("octo/hello") {
		if c.User == gh.BotLogin() {
			out = append(out, c)
		}
	}
	return out
}

// The progress comment follows the task, coalesced: fifty steps in a second make a handful of
// edits, the last shows the latest step, and the result replaces it; nothing edits it afterwards.
func TestProgressCommentIsEditedCoalesced(t *testing.T) {
	gh, o, store, task := originFixture(t, 250*time.Millisecond)
	ctx := context.Background()
	if ok, _, err := o.Authorize(ctx, task); !ok || err != nil {
		t.Fatalf("Authorize: %v %v", ok, err)
	}
	if err := o.Acknowledge(ctx, task); err != nil {
		t.Fatal(err)
	}
	if err := o.Acknowledge(ctx, task); err != nil { // a retried job: still one comment
		t.Fatal(err)
	}
	if c := botComments(gh); len(c) != 1 || store.ids[task.ID] != c[0].ID || !strings.Contains(c[0].Body, "Sesame is on it") {
		t.Fatalf("after acknowledging: comments %+v, stored id %d", c, store.ids[task.ID])
	}
	task.Status = sesame.StatusRunning
	start := time.Now()
	for i := range 50 {
		o.Progress(ctx, task, sesame.TaskProgress{Status: sesame.StatusRunning, Step: "Bash: step " + string(rune('A'+i%26)) + " ghs_secret"})
		time.Sleep(20 * time.Millisecond)
	}
	o.Progress(ctx, task, sesame.TaskProgress{Status: sesame.StatusRunning, Step: "Bash: the last step"})
	elapsed := time.Since(start)
	gh.WaitFor(t, func() bool { return strings.Contains(botComments(gh)[0].Body, "the last step") }, 5*time.Second)
	n := edits(gh)
	if most := int(elapsed/(250*time.Millisecond)) + 2; n > most || n < 2 {
		t.Errorf("%d edits in %s with a 250 ms interval; want between 2 and %d", n, elapsed.Round(time.Millisecond), most)
	}
	body := botComments(gh)[0].Body
	if !strings.Contains(body, "The agent is working") || strings.Contains(body, "ghs_secret") {
		t.Errorf("progress comment:\n%s", body)
	}
	if err := o.Finish(ctx, task, sesame.TaskReport{Status: sesame.StatusCompleted, PRNumber: 5, PRURL: "https://github.com/octo/hello/pull/5",
		Summary: "Fixed it with ghs_secret", Facts: "agent `claude`"}); err != nil {
		t.Fatal(err)
	}
	final := botComments(gh)
	if len(final) != 1 || !strings.Contains(final[0].Body, "Sesame opened #5") || strings.Contains(final[0].Body, "ghs_secret") {
		t.Fatalf("final comment: %+v", final)
	}
	// A progress call racing the end changes nothing.
	o.Progress(ctx, task, sesame.TaskProgress{Status: sesame.StatusRunning, Step: "Bash: too late"})
	time.Sleep(600 * time.Millisecond)
	if after := botComments(gh)[0].Body; after != final[0].Body {
		t.Errorf("the comment was edited after the result:\n%s", after)
	}
	if r := gh.Reactions("octo/hello", task.CommentID); strings.Join(r, ",") != "eyes,rocket" {
		t.Errorf("reactions on the request: %v", r)
	}
}

// A long task's comment is edited less and less often: after every 6 edits the gap grows by an
// interval, up to 6 intervals.
func TestProgressEditsSlowDownAsTheTaskGoesOn(t *testing.T) {
	const interval = 20 * time.Millisecond
	gh, o, _, task := originFixture(t, interval)
	ctx := context.Background()
	if err := o.Acknowledge(ctx, task); err != nil {
		t.Fatal(err)
	}
	task.Status = sesame.StatusRunning
	start := time.Now()
	for i := 0; time.Since(start) < 2*time.Second; i++ {
		o.Progress(ctx, task, sesame.TaskProgress{Status: sesame.StatusRunning, Step: "Bash: step " + strconv.Itoa(i)})
		time.Sleep(2 * time.Millisecond)
	}
	// At a fixed 20 ms: about 100 edits in 2 s. With the growing gap: 6 at 20 ms, 6 at 40, 6 at 60,
	// 6 at 80, 6 at 100, then one per 120 ms: about 36.
	if n := edits(gh); n > 50 || n < 10 {
		t.Errorf("%d edits in 2 s of steps every 2 ms with a 20 ms interval; want the gap to grow (about 36)", n)
	}
}

// Someone without write access is told why in one reply, and the task does not run.
func TestGitHubOriginRefusesReaders(t *testing.T) {
	gh, o, _, task := originFixture(t, time.Second)
	gh.SetPermission("octo/hello", "alice", "read")
	ok, reason, err := o.Authorize(context.Background(), task)
	if ok || err != nil || !strings.Contains(reason, "read access") {
		t.Fatalf("Authorize = %v %q %v", ok, reason, err)
	}
	if c := botComments(gh); len(c) != 1 || !strings.Contains(c[0].Body, "takes write, maintain or admin access") {
		t.Errorf("replies: %+v", c)
	}
}
