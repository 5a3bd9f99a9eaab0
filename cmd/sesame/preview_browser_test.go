package main_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-works/sesame/internal/modeltest"
)

// previewPort is where the agent's dev server listens in its sandbox.
const previewPort = 8765

// devServerScript is what the agent runs: python3 -m http.server on a loopback port of its sandbox,
// serving a page whose script tries to reach Sesame's own API and cookies, until the test has
// fetched /done.txt through the preview.
func devServerScript(token string) string {
	return fmt.Sprintf(`D=$(mktemp -d) && cd "$D" &&
cat > index.html <<'EOF'
<!doctype html><title>preview</title><p id="t">%[1]s</p><p id="c"></p><p id="f"></p><script src="app.js"></script>
EOF
cat > app.js <<'EOF'
document.getElementById("t").textContent += " script-ran";
try { document.getElementById("c").textContent = "cookie-readable:" + document.cookie; } catch (e) { document.getElementById("c").textContent = "cookie-blocked"; }
fetch("/api/admin/audit", {credentials: "include"}).then(function (r) { return r.text(); })
  .then(function (t) { document.getElementById("f").textContent = "LEAKED " + t.slice(0, 80); })
  .catch(function () { document.getElementById("f").textContent = "fetch-blocked"; });
EOF
echo done > done.txt
(python3 -m http.server %[2]d --bind 127.0.0.1 > "$D.log" 2>&1 &)
for i in $(seq 900); do grep -q 'GET /done.txt' "$D.log" 2>/dev/null && break; sleep 0.1; done
echo SERVED; cat "$D.log" | head -20`, token, previewPort)
}

// TestBrowserPreviewOfADevServer: the agent starts python3 -m http.server in its sandbox (the local
// provider, security on, its own network namespace); the task page lists the port live; the admin
// opens the preview through Sesame and sees the page with its script run, sandboxed: the script can
// neither read Sesame's cookies nor call its API with the admin's session. Someone signed out is
// sent to sign in; after the task the preview says the sandbox is gone.
func TestBrowserPreviewOfADevServer(t *testing.T) {
	token := "preview-token-" + fmt.Sprint(time.Now().UnixNano())
	model := modeltest.NewServer(t,
		modeltest.Bash(devServerScript(token)),
		modeltest.Step{Text: "The dev server ran."},
	)
	base, dbURL, _, _, web := adminEnv(t, model)
	ctx := browser(t)
	setUpInBrowser(t, ctx, base)

	code, resp := deliver(t, web, "preview-1", commentPayload(t, "alice", "/sesame start the dev server"))
	if code != http.StatusAccepted {
		t.Fatalf("webhook answered %d %v", code, resp)
	}
	id := resp["task_id"]
	preview := fmt.Sprintf("%s/tasks/%s/preview/%d/", base, id, previewPort)

	// The task page lists the port once the server listens, without a reload.
	var link string
	run(t, ctx, "see the preview listed on the task page", 2*time.Minute,
		chromedp.Navigate(base+"/tasks/"+id),
		chromedp.WaitVisible(fmt.Sprintf(`#previews a[href$="/preview/%d/"]`, previewPort), chromedp.ByQuery),
		text(`#previews`, &link),
	)
	if !strings.Contains(link, fmt.Sprintf("port %d", previewPort)) {
		t.Errorf("the previews line says %q", link)
	}

	// Signed out (a plain client), the preview sends to sign-in and shows nothing of the page.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	anon, err := noRedirect.Get(preview)
	if err != nil {
		t.Fatal(err)
	}
	anon.Body.Close()
	if anon.StatusCode != http.StatusSeeOther || !strings.HasPrefix(anon.Header.Get("Location"), "/login") {
		t.Errorf("a signed-out preview answered %d %q", anon.StatusCode, anon.Header.Get("Location"))
	}

	var page, cookie, fetched string
	run(t, ctx, "open the preview", 30*time.Second,
		chromedp.Navigate(preview),
		chromedp.WaitVisible(`#f:not(:empty)`, chromedp.ByQuery),
		text(`#t`, &page), text(`#c`, &cookie), text(`#f`, &fetched),
	)
	if page != token+" script-ran" {
		t.Errorf("the preview shows %q, want the dev server's page with its script run", page)
	}
	if cookie != "cookie-blocked" {
		t.Errorf("the preview's script read the cookies: %q", cookie)
	}
	if fetched != "fetch-blocked" {
		t.Errorf("the preview's script called Sesame's API with the admin's session: %q", fetched)
	}
	run(t, ctx, "tell the agent it was seen", 20*time.Second, chromedp.Navigate(preview+"done.txt"))

	if status, reason := waitEnded(t, dbURL, id, 3*time.Minute); status != "completed" {
		t.Fatalf("task ended %s: %s", status, reason)
	}
	// The sandbox is gone, and the preview says so.
	var gone string
	run(t, ctx, "open the preview after the task", 20*time.Second,
		chromedp.Navigate(preview),
		text(`main`, &gone),
	)
	if !strings.Contains(gone, "not running") {
		t.Errorf("after the task the preview says %q", gone)
	}
	if n := countRows(t, dbURL, `SELECT count(*) FROM task_events WHERE task_id = '`+id+`' AND type = 'preview'`); n < 2 {
		t.Errorf("%d preview events; want the port opening and the previews closing", n)
	}
}
