package main_test

import (
	"path"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-works/sesame/internal/modeltest"
)

// A user's own Anthropic key, saved on the settings page, is the one their task's agent sends to the
// model, not the system-wide key the worker also has; the page shows only its last four characters.
func TestBrowserUserKeyWinsOverSystemKey(t *testing.T) {
	model := modeltest.NewServer(t,
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`),
		modeltest.Step{Text: "Fixed the typo."},
	)
	base, dbURL, _ := webEnv(t, model) // the worker has the system key, anthropicKey
	ctx := browser(t)
	setUpInBrowser(t, ctx, base)

	const own = "sk-ant-api03-ada-own-key-0123456789-WXYZ"
	form := `form[action="/settings/credentials/anthropic_api_key"]`
	var shown string
	run(t, ctx, "save an own Anthropic key", 20*time.Second,
		chromedp.Navigate(base+"/settings"),
		chromedp.SendKeys(form+` input[name=value]`, own, chromedp.ByQuery),
		chromedp.Click(form+` button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#credential-anthropic_api_key [data-shown]`, chromedp.ByQuery),
		text(`#credential-anthropic_api_key [data-shown]`, &shown),
	)
	if shown != "••••WXYZ" {
		t.Errorf("the saved key shows as %q, want ••••WXYZ", shown)
	}

	id := path.Base(startTask(t, ctx, base, "fix the typo in README"))
	if status, reason := waitEnded(t, dbURL, id, 3*time.Minute); status != "completed" {
		t.Fatalf("task ended %s: %s", status, reason)
	}
	turns := 0
	for _, r := range model.Requests() {
		if r.Method != "POST" {
			continue
		}
		turns++
		switch got := r.Headers.Get(modeltest.KeyIDHeader); got {
		case modeltest.KeyID(own):
		case modeltest.KeyID(anthropicKey):
			t.Errorf("request %s sent the system key, not the user's", r.Path)
		default:
			t.Errorf("request %s sent key %q, neither the user's nor the system's", r.Path, got)
		}
	}
	if turns == 0 {
		t.Fatal("the model got no request")
	}
	if stored := allStored(t, dbURL); strings.Contains(stored, own) {
		t.Error("the user's key is in the stored task or its events")
	}
}
