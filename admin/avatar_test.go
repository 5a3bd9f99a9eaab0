package admin_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// With gravatar.enabled the header shows the user's Gravatar (asked with d=blank, over their
// initial, so someone without one sees the initial) and the page may load it; off, only the initial.
func TestGravatar(t *testing.T) {
	e, _ := liveEnv(t)
	adm := e.setUp(t)
	sum := sha256.Sum256([]byte("ada@example.com"))
	want := `<img src="https://www.gravatar.com/avatar/` + hex.EncodeToString(sum[:]) + `?s=64&amp;d=blank"`

	page := adm.mustStatus(adm.get("/tasks"), http.StatusOK, "tasks")
	if !strings.Contains(page.body, want) || !strings.Contains(page.body, `<span class="avatar-initial">A</span>`) {
		t.Errorf("gravatar on (the default): header lacks %s or the initial:\n%s", want, snippet(page.body))
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://www.gravatar.com;") {
		t.Errorf("CSP does not let the Gravatar load: %s", csp)
	}

	adm.mustStatus(adm.post("/admin/settings", url.Values{"group": {"avatars"}, "s:gravatar.enabled": {"false"}}), http.StatusSeeOther, "turn Gravatar off")
	page = adm.mustStatus(adm.get("/tasks"), http.StatusOK, "tasks")
	if strings.Contains(page.body, "gravatar.com") || !strings.Contains(page.body, `<span class="avatar-initial">A</span>`) {
		t.Errorf("gravatar off: the header still loads it or lacks the initial")
	}
	if csp := page.header.Get("Content-Security-Policy"); strings.Contains(csp, "gravatar") {
		t.Errorf("gravatar off: CSP still names it: %s", csp)
	}
}
