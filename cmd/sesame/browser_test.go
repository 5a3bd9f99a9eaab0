package main_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// browser starts Debian's Chromium, headless, for one test. It fails when Chromium is missing:
// scripts/test installs it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed (scripts/test installs Debian's chromium package)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// run runs browser actions with a deadline, failing the test with what was being done.
func run(t *testing.T, ctx context.Context, what string, within time.Duration, actions ...chromedp.Action) {
	t.Helper()
	timed, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := chromedp.Run(timed, actions...); err != nil {
		// Say where the browser was and what it showed.
		var url, body string
		look, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = chromedp.Run(look, chromedp.Location(&url), chromedp.Evaluate(`document.body ? document.body.innerText : ""`, &body))
		t.Fatalf("%s: %v\nthe browser is at %s, showing:\n%s", what, err, url, body)
	}
}

// freeAddr returns a loopback address nobody listens on, so BASE_URL can name it before Sesame starts.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// webEnv starts Sesame (web and worker) for browser journeys, served at its BASE_URL over http.
func webEnv(t *testing.T, model *modeltest.Server) (base, dbURL string, gh *githubtest.Server) {
	gh = githubtest.NewServer(t)
	fixture(t, gh)
	addr := freeAddr(t)
	base = "http://" + addr
	_, _, dbURL = prEnv(t, gh, model, "LISTEN_ADDR="+addr, "BASE_URL="+base)
	return base, dbURL, gh
}

func text(sel string, out *string) chromedp.Action { return chromedp.Text(sel, out, chromedp.ByQuery) }

// setUpInBrowser creates the first admin through the setup page.
func setUpInBrowser(t *testing.T, ctx context.Context, base string) {
	var welcome string
	run(t, ctx, "set up the first admin", 20*time.Second,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`form[action="/setup"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=name]`, "Ada Admin", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, "ada@example.com", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, "correct horse battery", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password_confirm]`, "correct horse battery", chromedp.ByQuery),
		chromedp.Click(`form[action="/setup"] button`, chromedp.ByQuery),
		// The next page, not the setup page still unloading: its nodes go away under a query.
		chromedp.WaitNotPresent(`form[action="/setup"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.flash`, chromedp.ByQuery),
		text(`.flash`, &welcome),
	)
	if !strings.Contains(welcome, "first admin") {
		t.Fatalf("after setup the page says %q", welcome)
	}
}

// startTask fills the new-task form and returns the task page's URL.
func startTask(t *testing.T, ctx context.Context, base, prompt string) string {
	var url string
	run(t, ctx, "start a task from the form", 20*time.Second,
		chromedp.Navigate(base+"/tasks/new"),
		chromedp.WaitVisible(`select[name=repo]`, chromedp.ByQuery),
		chromedp.SetValue(`select[name=repo]`, repo, chromedp.ByQuery),
		chromedp.SendKeys(`textarea[name=prompt]`, prompt, chromedp.ByQuery),
		chromedp.Click(`form[action="/tasks"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#task-summary`, chromedp.ByQuery),
		chromedp.Location(&url),
	)
	return url
}

// TestBrowserJourney: set up the first admin, sign out and in, find sign-up closed, start a task
// from the form and watch its page show the agent's tool calls as they happen, then the pull request.
func TestBrowserJourney(t *testing.T) {
	model := modeltest.NewServer(t,
		modeltest.Bash(`sleep 3; echo looked around`), // the page is open before the next call is made
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`),
		modeltest.Step{Text: "Fixed the typo in README.md."},
	)
	base, dbURL, gh := webEnv(t, model)
	ctx := browser(t)
	setUpInBrowser(t, ctx, base)

	var loginTitle, signup string
	run(t, ctx, "sign out, find sign-up closed, sign in", 20*time.Second,
		chromedp.Click(`form[action="/logout"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`form[action="/login"]`, chromedp.ByQuery),
		text(`h1`, &loginTitle),
		chromedp.Navigate(base+"/signup"),
		chromedp.WaitVisible(`h1`, chromedp.ByQuery),
		text(`main`, &signup),
		chromedp.Navigate(base+"/tasks"),
		chromedp.WaitVisible(`form[action="/login"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, "ada@example.com", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, "correct horse battery", chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`a.button[href="/tasks/new"]`, chromedp.ByQuery),
	)
	if loginTitle != "Sign in" || !strings.Contains(signup, "Sign-ups are closed") {
		t.Fatalf("sign-in page %q; sign-up page %q", loginTitle, signup)
	}

	taskURL := startTask(t, ctx, base, "fix the typo in README")
	var atLoad, live int
	var reloaded bool
	var pr string
	run(t, ctx, "watch the agent's tool calls arrive live, then the pull request", 3*time.Minute,
		chromedp.Evaluate(`window.__sesameTest = 1; document.querySelectorAll("#events .event-tool_call").length`, &atLoad),
		chromedp.Poll(`document.querySelectorAll("#events .event-tool_call").length >= 2`, nil, chromedp.WithPollingTimeout(2*time.Minute)),
		chromedp.Evaluate(`document.querySelectorAll("#events .event-tool_call").length`, &live),
		chromedp.WaitVisible(`#task-summary .pr a`, chromedp.ByQuery),
		text(`#task-summary .pr a`, &pr),
		chromedp.Evaluate(`window.__sesameTest !== 1`, &reloaded),
	)
	if atLoad >= 2 || live < 2 || reloaded {
		t.Errorf("tool calls at page load %d, later %d, page reloaded %v: the calls did not arrive live", atLoad, live, reloaded)
	}
	prs := gh.PullRequests(repo)
	if len(prs) != 1 || !strings.Contains(pr, fmt.Sprintf("#%d", prs[0].Number)) {
		t.Fatalf("page shows %q; pull requests %+v", pr, prs)
	}
	var calls string
	run(t, ctx, "read the log", 10*time.Second, text(`#events`, &calls))
	if !strings.Contains(calls, "sed -i") || !strings.Contains(calls, "completed") {
		t.Errorf("the log lacks the tool call or the final status:\n%s", calls)
	}
	id := taskURL[strings.LastIndex(taskURL, "/")+1:]
	if status, _ := taskStatus(t, dbURL, id); status != "completed" {
		t.Errorf("task %s is %s", id, status)
	}
}

// TestBrowserStopTask stops a task whose model keeps it running, from its page.
func TestBrowserStopTask(t *testing.T) {
	model := modeltest.NewServer(t,
		modeltest.Bash(`echo started`),
		modeltest.Step{Hang: true},
	)
	base, dbURL, gh := webEnv(t, model)
	ctx := browser(t)
	setUpInBrowser(t, ctx, base)
	taskURL := startTask(t, ctx, base, "take forever")
	id := taskURL[strings.LastIndex(taskURL, "/")+1:]

	var status, reason string
	run(t, ctx, "wait for the agent to run, stop it, see it stopped", 2*time.Minute,
		chromedp.WaitVisible(`#events .event-tool_call`, chromedp.ByQuery),
		chromedp.Click(`form.stop button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#task-summary[data-status=stopped]`, chromedp.ByQuery),
		chromedp.AttributeValue(`#task-summary`, "data-status", &status, nil, chromedp.ByQuery),
		chromedp.WaitVisible(`#task-summary .reason`, chromedp.ByQuery),
		text(`#task-summary .reason`, &reason),
	)
	if status != "stopped" || !strings.Contains(reason, "Stopped by Ada Admin") {
		t.Errorf("page shows status %q, reason %q", status, reason)
	}
	if got, why := taskStatus(t, dbURL, id); got != "stopped" {
		t.Errorf("task is %s (%s)", got, why)
	}
	if pushes := gh.Pushes(repo); len(pushes) != 0 {
		t.Errorf("a stopped task pushed %v", pushes)
	}
}
