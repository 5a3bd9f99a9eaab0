package sesame_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
)

const (
	ghToken   = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
	patToken  = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"
	openAIKey = "sk-proj-Abcdefghijklmnopqrstuvwxyz012345"
	claudeKey = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"
	slackTok  = "xoxb-123456789012-1234567890123-abcdefghijklmnop"
)

func TestRedactPayloadByKey(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{name: "password", in: map[string]any{"password": "hunter2hunter2", "email": "a@b.c"},
			want: map[string]any{"password": sesame.Redacted, "email": "a@b.c"}},
		{name: "any case and separator", in: map[string]any{"API_KEY": "x1", "apiKey": "x2", "Api-Key": "x3", "apikey": "x4",
			"Authorization": "x5", "Set-Cookie": "x6", "client_secret": "x7", "private_key": "x8", "Passwd": "x9", "pass": "x10",
			"newPassword": "x11", "credentials": "x12", "GITHUB_TOKEN": "x13", "access_token": "x14", "webhookSecret": "x15"},
			want: map[string]any{"API_KEY": sesame.Redacted, "apiKey": sesame.Redacted, "Api-Key": sesame.Redacted,
				"apikey": sesame.Redacted, "Authorization": sesame.Redacted, "Set-Cookie": sesame.Redacted,
				"client_secret": sesame.Redacted, "private_key": sesame.Redacted, "Passwd": sesame.Redacted, "pass": sesame.Redacted,
				"newPassword": sesame.Redacted, "credentials": sesame.Redacted, "GITHUB_TOKEN": sesame.Redacted,
				"access_token": sesame.Redacted, "webhookSecret": sesame.Redacted}},
		{name: "a secret key hides all under it", in: map[string]any{"credential": map[string]any{"provider": "anthropic", "value": "v"}},
			want: map[string]any{"credential": sesame.Redacted}},
		{name: "nested maps and slices", in: map[string]any{
			"user":    map[string]any{"email": "a@b.c", "password": "p@ss", "profile": map[string]any{"token": "t"}},
			"changes": []any{map[string]any{"field": "x", "secret": "s"}, "plain"},
			"list":    []map[string]any{{"apiKey": "k"}},
			"headers": map[string]string{"Authorization": "Basic abc", "Accept": "text/html"},
		}, want: map[string]any{
			"user":    map[string]any{"email": "a@b.c", "password": sesame.Redacted, "profile": map[string]any{"token": sesame.Redacted}},
			"changes": []any{map[string]any{"field": "x", "secret": sesame.Redacted}, "plain"},
			"list":    []any{map[string]any{"apiKey": sesame.Redacted}},
			"headers": map[string]any{"Authorization": sesame.Redacted, "Accept": "text/html"},
		}},
		{name: "setting names under key are kept", in: map[string]any{"keys": []string{"audit.retentionDays", "ENABLE_AUDIT_LOG", "hunter2secret"},
			"key": "gravatar.enabled"},
			want: map[string]any{"keys": []any{"audit.retentionDays", "ENABLE_AUDIT_LOG", sesame.Redacted}, "key": "gravatar.enabled"}},
		{name: "a credential under key goes", in: map[string]any{"provider": "openai", "key": "abc123def456"},
			want: map[string]any{"provider": "openai", "key": sesame.Redacted}},
		{name: "token counts stay", in: map[string]any{"input_tokens": 1200, "outputTokens": 30.0, "tokens": "abc"},
			want: map[string]any{"input_tokens": 1200, "outputTokens": 30.0, "tokens": sesame.Redacted}},
		{name: "innocent keys that look close", in: map[string]any{"passenger": "p", "keyId": "k1", "publicKey": "ssh-ed25519 AAAA",
			"bypass": "b", "author": "ada"},
			want: map[string]any{"passenger": "p", "keyId": "k1", "publicKey": "ssh-ed25519 AAAA", "bypass": "b", "author": "ada"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, sesame.RedactPayload(tt.in)); diff != "" {
				t.Errorf("RedactPayload (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedactPayloadByValue(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "classic GitHub token", in: ghToken, want: sesame.Redacted},
		{name: "fine-grained GitHub token", in: "token " + patToken + " used", want: "token " + sesame.Redacted + " used"},
		{name: "installation token in a clone URL", in: "clone https://x-access-token:ghs_abcdefghijklmnopqrstuvwxyz0123@github.com/o/r failed",
			want: "clone https://x-access-token:" + sesame.Redacted + "@github.com/o/r failed"},
		{name: "database URL", in: "postgres://sesame:s3cret@db:5432/sesame", want: "postgres://sesame:" + sesame.Redacted + "@db:5432/sesame"},
		{name: "OpenAI key", in: openAIKey, want: sesame.Redacted},
		{name: "Anthropic key", in: "key=" + claudeKey, want: "key=" + sesame.Redacted},
		{name: "Slack token", in: slackTok, want: sesame.Redacted},
		{name: "bearer", in: "Authorization: Bearer abc.def-ghi_jkl", want: "Authorization: Bearer " + sesame.Redacted},
		{name: "basic", in: "Basic YWRtaW46cGFzc3dvcmQ=", want: "Basic " + sesame.Redacted},
		{name: "JWT", in: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", want: sesame.Redacted},
		{name: "AWS key id", in: "AKIAIOSFODNN7EXAMPLE", want: sesame.Redacted},
		{name: "PEM", in: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----", want: sesame.Redacted},
		{name: "prose stays", in: "basic authentication for the task-runner desk-booking risk-assessment-for-everything", want: "basic authentication for the task-runner desk-booking risk-assessment-for-everything"},
		{name: "a short prefix is no token", in: "ghp_x sk-1", want: "ghp_x sk-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sesame.RedactPayload(map[string]any{"note": tt.in, "deep": []any{map[string]any{"msg": tt.in}}})
			want := map[string]any{"note": tt.want, "deep": []any{map[string]any{"msg": tt.want}}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("RedactPayload (-want +got):\n%s", diff)
			}
			if got := sesame.RedactText(tt.in); got != tt.want {
				t.Errorf("RedactText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedactPayloadOtherTypes(t *testing.T) {
	type creds struct {
		User     string `json:"user"`
		Password string `json:"password"`
		Note     string
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in := map[string]any{
		"creds":  creds{User: "ada", Password: "hunter2", Note: "uses " + ghToken},
		"at":     at,
		"err":    errors.New("push with " + ghToken + " refused"),
		"bytes":  []byte("Bearer abcdefghijkl"),
		"binary": []byte{0xff, 0xfe},
		ghToken:  "a token as a key",
		"nil":    nil,
		"bool":   true,
	}
	orig, _ := json.Marshal(in)
	got := sesame.RedactPayload(in)
	want := map[string]any{
		"creds":         map[string]any{"user": "ada", "password": sesame.Redacted, "Note": "uses " + sesame.Redacted},
		"at":            "2026-01-02T03:04:05Z",
		"err":           "push with " + sesame.Redacted + " refused",
		"bytes":         "Bearer " + sesame.Redacted,
		"binary":        "[2 bytes]",
		sesame.Redacted: "a token as a key",
		"nil":           nil,
		"bool":          true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RedactPayload (-want +got):\n%s", diff)
	}
	if after, _ := json.Marshal(in); string(after) != string(orig) {
		t.Error("RedactPayload changed its argument")
	}
	if sesame.RedactPayload(nil) != nil {
		t.Error("RedactPayload(nil) is not nil")
	}
}

func TestRedactPayloadDeepNesting(t *testing.T) {
	p := map[string]any{"token": "t"}
	for range 100 {
		p = map[string]any{"next": p}
	}
	b, err := json.Marshal(sesame.RedactPayload(p))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "[TRUNCATED]") || strings.Contains(string(b), `"t"`) {
		t.Errorf("deep payload = %.200s…", b)
	}
}
