package admin_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-works/sesame/internal/oidctest"
)

// TestBrowserSignsInWithOIDC: in Debian's Chromium, the sign-in page's "Sign in with Acme SSO" goes
// to the provider and back, under the page's CSP and the session cookie's SameSite=Lax, and lands
// signed in where the user was going.
func TestBrowserSignsInWithOIDC(t *testing.T) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed (scripts/test installs Debian's chromium package)")
	}
	oe := newOIDCEnv(t)
	oe.idp.SetUser(&oidctest.User{Subject: "lin", Email: "lin@example.com", EmailVerified: true, Name: "Lin Browser"})
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

	var button, location, who string
	err = chromedp.Run(ctx,
		chromedp.Navigate(oe.base+"/login?next=/settings"),
		chromedp.Text(`a[data-oidc]`, &button, chromedp.ByQuery),
		chromedp.Click(`a[data-oidc]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`form[action="/login"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.who`, chromedp.ByQuery),
		chromedp.Location(&location),
		chromedp.Text(`.who`, &who, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("sign in with OIDC: %v", err)
	}
	if button != "Sign in with Acme SSO" {
		t.Errorf("button %q", button)
	}
	if location != oe.base+"/settings" {
		t.Errorf("landed at %q, want %s/settings", location, oe.base)
	}
	if strings.TrimSpace(who) != "Lin Browser" {
		t.Errorf("signed in as %q, want Lin Browser", who)
	}
}
