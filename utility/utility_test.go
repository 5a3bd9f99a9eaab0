package utility_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/utility"
)

const key = "sk-utility-test-key-0123456789"

// fixed returns settings that ask srv's /v1 with the given key.
func fixed(srv *modeltest.UtilityServer, key string) func() utility.Settings {
	return func() utility.Settings {
		return utility.Settings{APIKey: key, BaseURL: srv.URL + "/v1/", Model: "small-model"}
	}
}

// answers answers the branch question with branch and the change question with change.
func answers(branch, change string) func(modeltest.Question) modeltest.Step {
	return func(q modeltest.Question) modeltest.Step {
		if strings.Contains(q.System, "git branches") {
			return modeltest.Step{Text: branch}
		}
		return modeltest.Step{Text: change}
	}
}

var request = sesame.NamingRequest{Repo: "octo/hello", Issue: 12, Instruction: "the login times out after 5 s, make it 30 s",
	Diff: "diff --git a/login.go b/login.go\n--- a/login.go\n+++ b/login.go\n@@ -1 +1 @@\n-const timeout = 5\n+const timeout = 30\n"}

func TestValidAnswers(t *testing.T) {
	srv := modeltest.NewUtilityServer(t, answers("fix-login-timeout",
		"```json\n"+`{"subject": "Raise the login timeout to 30 s", "body": "Logins on slow links gave up after 5 s.", "title": "Raise the login timeout"}`+"\n```"))
	c := &utility.Client{Settings: fixed(srv, key)}
	ctx := context.Background()

	words, err := c.BranchWords(ctx, request)
	if err != nil || words != "fix-login-timeout" {
		t.Fatalf("BranchWords = %q, %v; want fix-login-timeout", words, err)
	}
	names, err := c.ChangeNames(ctx, request)
	want := sesame.ChangeNames{Subject: "Raise the login timeout to 30 s", Body: "Logins on slow links gave up after 5 s.", Title: "Raise the login timeout"}
	if err != nil || names != want {
		t.Fatalf("ChangeNames = %+v, %v; want %+v", names, err, want)
	}

	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if r.Method != http.MethodPost || r.Path != "/v1/chat/completions" || r.Headers.Get("Authorization") != "set" ||
			r.Headers.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s, Authorization %q, Content-Type %q; want POST /v1/chat/completions with a bearer key and JSON",
				r.Method, r.Path, r.Headers.Get("Authorization"), r.Headers.Get("Content-Type"))
		}
		if strings.Contains(string(r.Body), `"stream":true`) {
			t.Errorf("asked for a stream: %s", r.Body)
		}
	}
	qs := srv.Questions()
	if qs[0].Model != "small-model" || !strings.Contains(qs[0].User, request.Instruction) || !strings.Contains(qs[0].User, "#12") ||
		strings.Contains(qs[0].User, "const timeout") {
		t.Errorf("branch question = %+v; want the model, the instruction and the issue, not the diff", qs[0])
	}
	if !strings.Contains(qs[1].User, "+const timeout = 30") || !strings.Contains(qs[1].User, request.Instruction) {
		t.Errorf("change question lacks the diff or the instruction:\n%s", qs[1].User)
	}
}

func TestJunkAnswers(t *testing.T) {
	for _, tt := range []struct {
		name, answer string
		want         string // "" means an error
	}{
		{"words", "add-csv-export", "add-csv-export"},
		{"quoted, capitals and spaces forgiven", "`Add CSV Export`", "add-csv-export"},
		{"invisible characters dropped", "add-\u202ecsv-export", "add-csv-export"},
		{"a sentence", "Sure! Here is a branch name: add-csv-export", ""},
		{"a slash", "feature/add-csv-export", ""},
		{"two lines", "add-csv-export\nor export-csv", ""},
		{"empty", "  ", ""},
		{"too many words", "add-the-new-csv-export-button-to-the-page", ""},
		{"not ASCII", "ajouter-l'export-csv", ""},
		{"dots", "add..csv", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := modeltest.NewUtilityServer(t, answers(tt.answer, ""))
			got, err := (&utility.Client{Settings: fixed(srv, key)}).BranchWords(context.Background(), request)
			if tt.want == "" && err == nil || tt.want != "" && (err != nil || got != tt.want) {
				t.Fatalf("BranchWords(%q) = %q, %v; want %q", tt.answer, got, err, tt.want)
			}
		})
	}

	long := strings.Repeat("word ", 30)
	for _, tt := range []struct {
		name, answer string
		want         sesame.ChangeNames // zero means an error
	}{
		{"plain JSON", `{"subject":"Add CSV export","body":"","title":"Add a CSV export"}`,
			sesame.ChangeNames{Subject: "Add CSV export", Title: "Add a CSV export"}},
		{"title left out is the subject", `{"subject":"add CSV export."}`,
			sesame.ChangeNames{Subject: "Add CSV export", Title: "Add CSV export"}},
		{"bidi override and controls removed", "{\"subject\":\"Add \u202eCSV\\u0007 export\",\"title\":\"Add\u2066 it\"}",
			sesame.ChangeNames{Subject: "Add CSV export", Title: "Add it"}},
		{"long subject cut at a word", `{"subject":"` + long + `"}`,
			sesame.ChangeNames{Subject: "W" + strings.TrimSpace(long[1:70]) + "…", Title: "W" + strings.TrimSpace(long[1:70]) + "…"}},
		{"trailers and closing keywords kept out of the body",
			`{"subject":"Add CSV export","body":"Adds it.\nCo-authored-by: Mallory <m@example.com>\nSigned-off-by: x","title":"Add CSV export"}`,
			sesame.ChangeNames{Subject: "Add CSV export", Body: "Adds it.", Title: "Add CSV export"}},
		{"a body that closes an issue is dropped", `{"subject":"Add CSV export","body":"Closes #7","title":"Fixes octo/other#9"}`,
			sesame.ChangeNames{Subject: "Add CSV export", Title: "Add CSV export"}},
		{"a subject that closes an issue", `{"subject":"Fix #7 and more"}`, sesame.ChangeNames{}},
		{"two-line subject", `{"subject":"Add CSV export\nand more"}`, sesame.ChangeNames{}},
		{"no subject", `{"title":"Add CSV export"}`, sesame.ChangeNames{}},
		{"not JSON", "Add CSV export", sesame.ChangeNames{}},
		{"broken JSON", `{"subject": "Add CSV`, sesame.ChangeNames{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := modeltest.NewUtilityServer(t, answers("", tt.answer))
			got, err := (&utility.Client{Settings: fixed(srv, key)}).ChangeNames(context.Background(), request)
			if tt.want == (sesame.ChangeNames{}) {
				if err == nil {
					t.Fatalf("ChangeNames(%q) = %+v, want an error", tt.answer, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ChangeNames(%q): %v", tt.answer, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ChangeNames(%q) (-want +got):\n%s", tt.answer, diff)
			}
		})
	}
}

// A model that never answers costs the caller the client's timeout, and an error.
func TestHangingModelTimesOut(t *testing.T) {
	srv := modeltest.NewUtilityServer(t, func(modeltest.Question) modeltest.Step { return modeltest.Step{Hang: true} })
	c := &utility.Client{Settings: fixed(srv, key), Timeout: 300 * time.Millisecond}
	start := time.Now()
	words, err := c.BranchWords(context.Background(), request)
	took := time.Since(start)
	if err == nil || words != "" || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Fatalf("BranchWords = %q, %v; want an error saying no answer came within 300ms", words, err)
	}
	if took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("gave up after %s, want about 300ms", took)
	}
}

func TestErrorsNameNoSecret(t *testing.T) {
	srv := modeltest.NewUtilityServer(t, func(modeltest.Question) modeltest.Step { return modeltest.Step{Status: 401} })
	_, err := (&utility.Client{Settings: fixed(srv, key)}).ChangeNames(context.Background(), request)
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), key) {
		t.Fatalf("ChangeNames against a 401 = %v; want an error with the status and without the key", err)
	}
}

func TestSettings(t *testing.T) {
	ctx := context.Background()
	// A local Ollama: a base URL of its own and no key. Asked, without an Authorization header.
	srv := modeltest.NewUtilityServer(t, answers("add-csv-export", ""))
	c := &utility.Client{Settings: fixed(srv, "")}
	if words, err := c.BranchWords(ctx, request); err != nil || words != "add-csv-export" {
		t.Fatalf("BranchWords without a key = %q, %v", words, err)
	}
	if r := srv.Requests(); len(r) != 1 || r[0].Headers.Get("Authorization") != "" {
		t.Fatalf("requests = %+v; want one without an Authorization header", r)
	}
	if q := srv.Questions(); q[0].Model != "small-model" {
		t.Errorf("model = %q", q[0].Model)
	}

	// Unset: OpenAI's URL and no key, or no settings at all. Nothing asked, no error.
	for name, c := range map[string]*utility.Client{
		"defaults": {Settings: func() utility.Settings {
			return utility.Settings{BaseURL: utility.DefaultBaseURL, Model: utility.DefaultModel}
		}},
		"empty":       {Settings: func() utility.Settings { return utility.Settings{} }},
		"no settings": {},
		"nil client":  nil,
	} {
		words, err := c.BranchWords(ctx, request)
		names, err2 := c.ChangeNames(ctx, request)
		if words != "" || err != nil || names != (sesame.ChangeNames{}) || err2 != nil {
			t.Errorf("%s: BranchWords = %q, %v; ChangeNames = %+v, %v; want nothing and no error", name, words, err, names, err2)
		}
	}

	for _, tt := range []struct {
		s    utility.Settings
		want bool
	}{
		{utility.Settings{}, false},
		{utility.Settings{BaseURL: "https://api.openai.com/v1/"}, false},
		{utility.Settings{APIKey: "sk-x"}, true},
		{utility.Settings{APIKey: "sk-x", BaseURL: utility.DefaultBaseURL}, true},
		{utility.Settings{BaseURL: "http://localhost:11434/v1"}, true},
	} {
		if got := tt.s.Enabled(); got != tt.want {
			t.Errorf("%+v.Enabled() = %v, want %v", tt.s, got, tt.want)
		}
	}
}

// A long diff is cut at a line to utility.MaxDiff and says so; the instruction is sent whole.
func TestLongDiffIsCut(t *testing.T) {
	srv := modeltest.NewUtilityServer(t, answers("", `{"subject":"Add data"}`))
	req := request
	req.Diff = strings.Repeat("+0123456789abcdef\n", 4000) // 72,000 bytes
	if _, err := (&utility.Client{Settings: fixed(srv, key)}).ChangeNames(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	user := srv.Questions()[0].User
	if n := strings.Count(user, "+0123456789abcdef\n"); n == 0 || n*18 > utility.MaxDiff {
		t.Errorf("%d diff lines sent (%d bytes), want some, at most %d bytes", n, n*18, utility.MaxDiff)
	}
	if !strings.Contains(user, "[diff cut short: 72000 bytes in all]") || !strings.Contains(user, request.Instruction) {
		t.Errorf("question does not say the diff was cut, or lacks the instruction:\n%s", user[len(user)-200:])
	}
}
