package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDescribe(t *testing.T) {
	c := mustLoad(t,
		map[string]string{"config.yaml": "smtp:\n  pass: shortpass\n  host: mail.example.com\n"},
		map[string]string{
			"GH_TOKEN":              "ghp_0123456789abcdefWXYZ", // 24 characters
			"GITHUB_WEBHOOK_SECRET": "exactly-16-chars",
			"OIDC_CLIENT_SECRET":    "fifteen-chars!!",
		}, nil)
	got := map[string]Value{}
	var order []string
	for _, v := range c.Describe() {
		got[v.Key] = v
		order = append(order, v.Key)
	}
	var want []string
	for _, s := range Settings() {
		want = append(want, s.Key)
	}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("Describe order differs from the registry (-want +got):\n%s", diff)
	}
	tests := []struct {
		name string
		want Value
	}{
		{"long secret shows last four", Value{Key: AgentsCopilotGitHubToken, Env: "COPILOT_GITHUB_TOKEN", Value: "****WXYZ",
			Source: SourceEnv, Locked: true, Origin: "GH_TOKEN", Secret: true}},
		{"sixteen characters show last four", Value{Key: GitHubWebhookSecret, Env: "GITHUB_WEBHOOK_SECRET", Value: "****hars",
			Source: SourceEnv, Locked: true, Origin: "GITHUB_WEBHOOK_SECRET", Secret: true}},
		{"fifteen characters show nothing", Value{Key: OIDCClientSecret, Env: "OIDC_CLIENT_SECRET", Value: "****",
			Source: SourceEnv, Locked: true, Origin: "OIDC_CLIENT_SECRET", Secret: true}},
		{"short secret from the file", Value{Key: SMTPPass, Env: "SMTP_PASS", Value: "****",
			Source: SourceFile, Origin: c.File(), Secret: true}},
		{"empty secret", Value{Key: AIAPIKey, Env: "AI_API_KEY", Value: "(not set)", Source: SourceDefault, Secret: true}},
		{"secret default is masked too", Value{Key: DatabaseURL, Env: "DATABASE_URL", Value: "****able",
			Source: SourceDefault, Secret: true}},
		{"plain value", Value{Key: SMTPHost, Env: "SMTP_HOST", Value: "mail.example.com", Source: SourceFile, Origin: c.File()}},
		{"plain default", Value{Key: SMTPPort, Env: "SMTP_PORT", Value: "587", Source: SourceDefault}},
		{"empty plain value", Value{Key: SMTPFrom, Env: "SMTP_FROM", Value: "", Source: SourceDefault}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, got[tt.want.Key]); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, v := range c.Describe() {
		for _, secret := range []string{"ghp_0123456789abcdef", "exactly-16", "fifteen-chars", "shortpass"} {
			if strings.Contains(v.Value, secret) {
				t.Errorf("%s shows %q", v.Key, v.Value)
			}
		}
	}
}

func TestSecrets(t *testing.T) {
	pemText := "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\nAwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"
	c := mustLoad(t, nil, map[string]string{
		"DATABASE_URL":           "postgres://sesame:pg-pass@db:5432/sesame",
		"SMTP_PASS":              "mailpw",
		"GITHUB_APP_PRIVATE_KEY": pemText,
		"AI_MODEL":               "not-a-secret",
		"OPENAI_API_KEY":         "sk-shared", // ai.apiKey and agents.openaiApiKey: listed once
	}, nil)
	want := []string{
		pemText,
		"postgres://sesame:pg-pass@db:5432/sesame",
		"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49",
		"redis://127.0.0.1:6379/0",
		"AwEHBG0wawIBAQQg",
		"sk-shared",
		"pg-pass",
		"mailpw",
	}
	if diff := cmp.Diff(want, c.Secrets()); diff != "" {
		t.Errorf("Secrets (-want +got):\n%s", diff)
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "(not set)"},
		{"one character", "x", "****"},
		{"fifteen", "abcdefghijklmno", "****"},
		{"sixteen", "abcdefghijklmnop", "****mnop"},
		{"runes, not bytes", "ééééééééééééééé€", "****ééé€"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mask(tt.in); got != tt.want {
				t.Errorf("mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
