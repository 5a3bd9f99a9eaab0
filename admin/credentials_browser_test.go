package admin_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserSavesAndRemovesACredential signs in with Debian's Chromium, saves an OpenAI key on the
// settings page, sees only its last four, and removes it: the forms work in a real browser under
// the page's CSP and cross-origin protection.
func TestBrowserSavesAndRemovesACredential(t *testing.T) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed (scripts/test installs Debian's chromium package)")
	}
	ce := newCredEnv(t)
	ce.setUp(t)
	base := ce.srv.URL
	// Chromium's helpers may still write to its profile as it exits, so it is removed best-effort
	// rather than with t.TempDir, whose cleanup fails the test on a busy directory.
	profile, err := os.MkdirTemp("", "sesame-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(profile))...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc(); os.RemoveAll(profile) })
	ctx, cancelRun := context.WithTimeout(ctx, 60*time.Second)
	defer cancelRun()

	const key = "sk-proj-browser-secret-LMNO"
	form := `#credential-openai_api_key form[action="/settings/credentials/openai_api_key"]`
	var flash, shown, page string
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(`input[name=email]`, "ada@example.com", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, password, chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`form[action="/login"]`, chromedp.ByQuery),
		chromedp.Navigate(base+"/settings"),
		chromedp.SendKeys(form+` input[name=value]`, key, chromedp.ByQuery),
		chromedp.Click(form+` button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#credential-openai_api_key [data-shown]`, chromedp.ByQuery),
		chromedp.Text(`.flash`, &flash, chromedp.ByQuery),
		chromedp.Text(`#credential-openai_api_key [data-shown]`, &shown, chromedp.ByQuery),
		chromedp.OuterHTML(`html`, &page, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("save a key: %v", err)
	}
	if shown != "••••LMNO" || !strings.Contains(flash, "Saved your OpenAI API key") {
		t.Errorf("after saving: shown %q, flash %q", shown, flash)
	}
	if strings.Contains(page, "browser-secret") {
		t.Error("the page holds the key")
	}
	err = chromedp.Run(ctx,
		chromedp.Click(`#credential-openai_api_key form[action$="/delete"] button`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`#credential-openai_api_key [data-shown]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.flash`, chromedp.ByQuery),
		chromedp.Text(`.flash`, &flash, chromedp.ByQuery),
		chromedp.OuterHTML(`#credential-openai_api_key`, &page, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("remove the key: %v", err)
	}
	if !strings.Contains(flash, "Removed your OpenAI API key") || strings.Contains(page, "LMNO") {
		t.Errorf("after removing: flash %q, field:\n%s", flash, page)
	}
}
