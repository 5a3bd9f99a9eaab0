package modeltest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The answers Gemini CLI 0.61.0 accepted in the recorded run (the agent's testdata), reproduced byte
// for byte.
func TestGeminiStreamMatchesRecording(t *testing.T) {
	tests := []struct {
		file string
		turn turn
	}{{
		file: "../../agent/testdata/gemini/002.resp",
		turn: turn{MsgID: "fake-2", Model: "gemini-3.8-flash", InputTokens: 12036, OutputTokens: 12,
			Step: GeminiWrite("/srv/task/repo/hello.txt", "hello from fake model\n")},
	}, {
		file: "../../agent/testdata/gemini/003.resp",
		turn: turn{MsgID: "fake-3", Model: "gemini-3.8-flash", InputTokens: 12169, OutputTokens: 12,
			Step: GeminiShell("echo shell-ok > shell.txt && ls")},
	}, {
		file: "../../agent/testdata/gemini/004.resp",
		turn: turn{MsgID: "fake-4", Model: "gemini-3.8-flash", InputTokens: 12287, OutputTokens: 12,
			Step: Step{Text: "Done: wrote hello.txt and ran a shell command."}},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := writeGeminiStream(&got, geminiResponse(tt.turn)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGeminiServerScript(t *testing.T) {
	s := NewGeminiServer(t, GeminiShell("ls"), Step{Status: http.StatusUnauthorized}, Step{Text: "bye"})
	post := func(path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Goog-Api-Key", "secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const stream = "/v1beta/models/gemini-x:streamGenerateContent"
	turn := func(n int) string {
		return `{"contents":[{"role":"user","parts":[{"text":"` + strings.Repeat("x", n) + `"}]}],"tools":[{}]}`
	}
	tests := []struct {
		name, path, body string
		code             int
		want             string
	}{
		{"no tools: no step", "/v1beta/models/gemini-x:generateContent", `{"contents":[]}`, 200, `"text":"Scripted answer"`},
		{"first turn: a function call", stream, turn(1), 200, `data: {"candidates":[{"content":{"parts":[{"functionCall":{"args":{"command":"ls"},"name":"run_shell_command"}}]`},
		{"the same turn again: the same answer", stream, turn(1), 200, `"name":"run_shell_command"`},
		{"second turn: 401", stream, turn(2), 401, `"status":"UNAUTHENTICATED"`},
		{"third turn: text", stream, turn(3), 200, `"text":"bye"`},
		{"script used up: done", stream, turn(4), 200, `"text":"done"`},
		{"count tokens", "/v1beta/models/gemini-x:countTokens", `{"contents":[]}`, 200, `"totalTokens"`},
		{"unknown path", "/v1/other", `{}`, 404, `"status":"NOT_FOUND"`},
		{"bad JSON", stream, `{`, 400, `"status":"INVALID_ARGUMENT"`},
	}
	for _, tt := range tests {
		code, body := post(tt.path, tt.body)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d with %s", tt.name, code, body, tt.code, tt.want)
		}
	}
	reqs := s.Requests()
	if len(reqs) != len(tests) {
		t.Fatalf("%d requests recorded, want %d", len(reqs), len(tests))
	}
	if got := reqs[1].Headers.Get("X-Goog-Api-Key"); got != "set" {
		t.Errorf("X-Goog-Api-Key recorded as %q, want set", got)
	}
	if !reqs[2].Retry || reqs[2].Step != 0 || reqs[4].Step != 2 || reqs[5].Step != -1 {
		t.Errorf("steps: %+v", reqs)
	}
}

func TestGeminiServerHangEndsWithClient(t *testing.T) {
	s := NewGeminiServer(t, Step{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/v1beta/models/m:streamGenerateContent",
		strings.NewReader(`{"contents":[],"tools":[{}]}`))
	start := time.Now()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("a hanging step answered")
	}
	if time.Since(start) > 5*time.Second {
		t.Error("the hang outlived the client")
	}
}
