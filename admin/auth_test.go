package admin

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestSafeNext: after sign-in only a path on this site is followed, however a browser (or a server
// decoding the path again) would read it. Each "next" is the value the handler sees, after the query
// or form was decoded.
func TestSafeNext(t *testing.T) {
	tests := []struct {
		name, next, want string
	}{
		{name: "empty", next: "", want: "/tasks"},
		{name: "task page with a query", next: "/tasks/abc?x=1", want: "/tasks/abc?x=1"},
		{name: "new task", next: "/tasks/new", want: "/tasks/new"},
		{name: "settings", next: "/settings", want: "/settings"},
		{name: "dots inside the site are resolved", next: "/tasks/../settings", want: "/settings"},
		{name: "dots above the root stay at the root", next: "/../../tasks", want: "/tasks"},
		{name: "an encoded slash inside a path", next: "/tasks/a%2Fb", want: "/tasks/a%2Fb"},
		{name: "query may hold slashes", next: "/tasks?next=//evil.com", want: "/tasks?next=//evil.com"},
		{name: "fragment dropped", next: "/tasks/abc#log", want: "/tasks/abc"},

		{name: "tab between the slashes", next: "/\t/evil.com", want: "/tasks"},       // /login?next=/%09/evil.com
		{name: "newline between the slashes", next: "/\n/evil.com", want: "/tasks"},   // %0A
		{name: "carriage return", next: "/\r/evil.com", want: "/tasks"},               // %0D
		{name: "dots then a backslash", next: "/tasks/../\\evil.com", want: "/tasks"}, // /login?next=/tasks/../%5Cevil.com
		{name: "network path", next: "//evil.com", want: "/tasks"},                    // scheme-relative
		{name: "network path with a path", next: "//evil.com/tasks", want: "/tasks"},
		{name: "slash backslash", next: "/\\evil.com", want: "/tasks"},
		{name: "backslash backslash", next: "\\\\evil.com", want: "/tasks"},
		{name: "absolute URL", next: "https://evil.com", want: "/tasks"},
		{name: "absolute URL without slashes", next: "https:evil.com", want: "/tasks"},
		{name: "javascript", next: "javascript:alert(document.cookie)", want: "/tasks"},
		{name: "data URL", next: "data:text/html,<script>alert(1)</script>", want: "/tasks"},
		{name: "relative path", next: "evil.com", want: "/tasks"},
		{name: "encoded double slash", next: "/%2F%2Fevil.com", want: "/tasks"}, // /login?next=/%252F%252Fevil.com
		{name: "encoded slash then slash", next: "/%2F/evil.com", want: "/tasks"},
		{name: "encoded backslash", next: "/%5Cevil.com", want: "/tasks"},
		{name: "encoded tab", next: "/%09/evil.com", want: "/tasks"},
		{name: "encoded dots", next: "/tasks/%2e%2e//evil.com", want: "/tasks"},
		{name: "mixed encoded dots", next: "/tasks/.%2E/\\evil.com", want: "/tasks"},
		{name: "triple slash", next: "///evil.com", want: "/tasks"}, // /login?next=/%2F%2Fevil.com
		{name: "userinfo", next: "//user@evil.com", want: "/tasks"},
		{name: "leading space", next: " //evil.com", want: "/tasks"},
		{name: "unicode control", next: "/\u0085/evil.com", want: "/tasks"},
		{name: "not UTF-8", next: "/\xff/evil.com", want: "/tasks"},
		{name: "bad escape", next: "/tasks/%zz", want: "/tasks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := safeNext(tt.next)
			if got != tt.want {
				t.Errorf("safeNext(%q) = %q, want %q", tt.next, got, tt.want)
			}
			// Whatever is kept, read as a browser reads a Location header against this site, stays on it.
			loc, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			if abs := (&url.URL{Scheme: "https", Host: "sesame.example"}).ResolveReference(loc); abs.Host != "sesame.example" {
				t.Errorf("safeNext(%q) = %q leads to %s", tt.next, got, abs.Host)
			}
			// http.Redirect cleans the path again; that must not change where it leads either.
			rec := httptest.NewRecorder()
			http.Redirect(rec, httptest.NewRequest(http.MethodPost, "/login", nil), got, http.StatusSeeOther)
			if l := rec.Header().Get("Location"); !localPath(l) {
				t.Errorf("http.Redirect(%q) sets Location %q", got, l)
			}
		})
	}
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/tasks/abc?x=1", "/\t/evil.com", "/tasks/../\\evil.com", "//evil.com", "/%2F%2Fevil.com", "/a/%2e%2e/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if !localPath(got) || hasControl(got) {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
		// Read as a browser would (backslash as slash, dots resolved), and once more decoded.
		p := got
		if i := strings.IndexAny(p, "?#"); i >= 0 {
			p = p[:i]
		}
		decoded, err := url.PathUnescape(p)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q, which does not decode: %v", next, got, err)
		}
		for _, form := range []string{p, decoded} {
			if r := resolveDots(strings.ReplaceAll(form, `\`, "/")); !localPath(r) {
				t.Fatalf("safeNext(%q) = %q, read as %q", next, got, r)
			}
		}
	})
}
