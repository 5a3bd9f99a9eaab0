package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLayering(t *testing.T) {
	const file = `
ai:
  model: from-file
  baseUrl: http://file.example/v1
registration:
  allowNewUsers: false
database:
  url: postgres://file/db
tasks:
  maxDuration: 45m
`
	type want struct {
		value  string
		source Source
		origin string
	}
	tests := []struct {
		name  string
		files map[string]string
		env   map[string]string
		admin MapLayer
		key   string
		want  want
	}{
		{name: "default", key: AIModel,
			want: want{"gpt-4o-mini", SourceDefault, ""}},
		{name: "file over default", files: map[string]string{"config.yaml": file}, key: AIModel,
			want: want{"from-file", SourceFile, "config.yaml"}},
		{name: "admin over file", files: map[string]string{"config.yaml": file},
			admin: MapLayer{AIModel: "from-admin"}, key: AIModel,
			want: want{"from-admin", SourceAdmin, "admin settings"}},
		{name: "env over admin", files: map[string]string{"config.yaml": file},
			admin: MapLayer{AIModel: "from-admin"}, env: map[string]string{"AI_MODEL": "from-env"}, key: AIModel,
			want: want{"from-env", SourceEnv, "AI_MODEL"}},
		{name: "empty env does not lock", files: map[string]string{"config.yaml": file},
			admin: MapLayer{AIModel: "from-admin"}, env: map[string]string{"AI_MODEL": ""}, key: AIModel,
			want: want{"from-admin", SourceAdmin, "admin settings"}},
		{name: "blank env does not lock", env: map[string]string{"AI_MODEL": "  "}, key: AIModel,
			want: want{"gpt-4o-mini", SourceDefault, ""}},
		{name: "admin empty string clears a string", files: map[string]string{"config.yaml": file},
			admin: MapLayer{AIBaseURL: ""}, key: AIBaseURL,
			want: want{"", SourceAdmin, "admin settings"}},
		{name: "bool from file", files: map[string]string{"config.yaml": file}, key: RegistrationAllowNewUsers,
			want: want{"false", SourceFile, "config.yaml"}},
		{name: "bool from env overrides file", files: map[string]string{"config.yaml": file},
			env: map[string]string{"ALLOW_USER_REGISTRATION": "TRUE"}, key: RegistrationAllowNewUsers,
			want: want{"true", SourceEnv, "ALLOW_USER_REGISTRATION"}},
		{name: "admin cannot set a start-up setting", files: map[string]string{"config.yaml": file},
			admin: MapLayer{DatabaseURL: "postgres://admin/db"}, key: DatabaseURL,
			want: want{"postgres://file/db", SourceFile, "config.yaml"}},
		{name: "admin cannot set an env-only setting",
			admin: MapLayer{AuthSecret: "from-admin-from-admin-from-admin-"}, key: AuthSecret,
			want: want{"", SourceDefault, ""}},
		{name: "OPENAI_API_KEY feeds ai.apiKey", env: map[string]string{"OPENAI_API_KEY": "sk-openai"}, key: AIAPIKey,
			want: want{"sk-openai", SourceEnv, "OPENAI_API_KEY"}},
		{name: "OPENAI_API_KEY feeds codex too", env: map[string]string{"OPENAI_API_KEY": "sk-openai"}, key: AgentsOpenAIAPIKey,
			want: want{"sk-openai", SourceEnv, "OPENAI_API_KEY"}},
		{name: "AI_API_KEY wins over its alias", env: map[string]string{"OPENAI_API_KEY": "sk-openai", "AI_API_KEY": "sk-ai"}, key: AIAPIKey,
			want: want{"sk-ai", SourceEnv, "AI_API_KEY"}},
		{name: "alias does not leak into the other setting", env: map[string]string{"OPENAI_API_KEY": "sk-openai", "AI_API_KEY": "sk-ai"}, key: AgentsOpenAIAPIKey,
			want: want{"sk-openai", SourceEnv, "OPENAI_API_KEY"}},
		{name: "GH_TOKEN feeds copilot", env: map[string]string{"GH_TOKEN": "gho_1"}, key: AgentsCopilotGitHubToken,
			want: want{"gho_1", SourceEnv, "GH_TOKEN"}},
		{name: "GITHUB_TOKEN when GH_TOKEN is empty", env: map[string]string{"GH_TOKEN": "", "GITHUB_TOKEN": "ghs_2"}, key: AgentsCopilotGitHubToken,
			want: want{"ghs_2", SourceEnv, "GITHUB_TOKEN"}},
		{name: "COPILOT_GITHUB_TOKEN first", env: map[string]string{"COPILOT_GITHUB_TOKEN": "c", "GH_TOKEN": "g", "GITHUB_TOKEN": "h"}, key: AgentsCopilotGitHubToken,
			want: want{"c", SourceEnv, "COPILOT_GITHUB_TOKEN"}},
		{name: "list from env is trimmed", env: map[string]string{"OIDC_SCOPES": " openid, email ,,groups"}, key: OIDCScopes,
			want: want{"openid,email,groups", SourceEnv, "OIDC_SCOPES"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var admin Layer
			if tt.admin != nil {
				admin = tt.admin
			}
			dir := writeFiles(t, tt.files)
			c, err := Load(Options{Dir: dir, Getenv: env(tt.env), Admin: admin})
			if err != nil {
				t.Fatal(err)
			}
			var got want
			for _, v := range c.Describe() {
				if v.Key == tt.key {
					got = want{c.values[tt.key].value, v.Source, v.Origin}
					if v.Locked != (tt.want.source == SourceEnv) || c.Locked(tt.key) != v.Locked {
						t.Errorf("Locked = %v, want %v", v.Locked, tt.want.source == SourceEnv)
					}
				}
			}
			if tt.want.origin != "" && tt.want.source == SourceFile {
				tt.want.origin = filepath.Join(dir, tt.want.origin)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if c.Source(tt.key) != tt.want.source {
				t.Errorf("Source = %s, want %s", c.Source(tt.key), tt.want.source)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	c := mustLoad(t, map[string]string{"config.yaml": "smtp: {port: 2525}\ntasks: {maxDuration: 1h30m}\n"},
		map[string]string{"OIDC_SCOPES": "openid,groups", "GIT_INCLUDE_CO_AUTHORED_BY": "0"}, nil)
	if got := c.Int(SMTPPort); got != 2525 {
		t.Errorf("Int(smtp.port) = %d", got)
	}
	if got := c.Duration(TasksMaxDuration); got != 90*time.Minute {
		t.Errorf("Duration(tasks.maxDuration) = %v", got)
	}
	if got := c.Bool(GitIncludeCoAuthoredBy); got {
		t.Errorf("Bool(git.includeCoAuthoredBy) = %v", got)
	}
	if got := c.Bool(GravatarEnabled); !got {
		t.Errorf("Bool(gravatar.enabled) = %v", got)
	}
	if diff := cmp.Diff([]string{"openid", "groups"}, c.List(OIDCScopes)); diff != "" {
		t.Errorf("List(oidc.scopes): %s", diff)
	}
	if got := c.String(SandboxProvider); got != "local" {
		t.Errorf("String(sandbox.provider) = %q", got)
	}
	if got := c.Int(GitHubAppID); got != 0 {
		t.Errorf("Int(github.appId) = %d", got)
	}
	if c.File() == "" {
		t.Error("File() is empty")
	}
	if c := mustLoad(t, nil, nil, nil); c.File() != "" {
		t.Errorf("File() = %q with no config file", c.File())
	}
}

func TestAccessorPanics(t *testing.T) {
	c := mustLoad(t, nil, nil, nil)
	tests := []struct {
		name string
		call func()
		want string
	}{
		{"unknown key", func() { c.String("ai.nope") }, "unknown setting ai.nope"},
		{"String on a bool", func() { c.String(GravatarEnabled) }, "is of type bool, not string"},
		{"Bool on a string", func() { c.Bool(AIModel) }, "is of type string, not bool"},
		{"Int on a duration", func() { c.Int(TasksMaxDuration) }, "is of type duration, not int"},
		{"Duration on an int", func() { c.Duration(SMTPPort) }, "is of type int, not duration"},
		{"List on a string", func() { c.List(AIModel) }, "is of type string, not list"},
		{"Source of an unknown key", func() { c.Source("nope") }, "unknown setting nope"},
		{"Locked of an unknown key", func() { c.Locked("nope") }, "unknown setting nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.Contains(msg, tt.want) {
					t.Errorf("panic = %v, want it to contain %q", r, tt.want)
				}
			}()
			tt.call()
		})
	}
}

func TestWithAdmin(t *testing.T) {
	c := mustLoad(t, map[string]string{"config.json": `{"ai": {"model": "file-model"}}`},
		map[string]string{"SMTP_HOST": "mail.env"}, nil)
	n, err := c.WithAdmin(MapLayer{AIModel: "admin-model", SMTPHost: "mail.admin", SMTPPort: "2525"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"new model": n.String(AIModel), "new source": n.Source(AIModel),
		"new host": n.String(SMTPHost), "new port": n.Int(SMTPPort),
		"old model": c.String(AIModel), "old source": c.Source(AIModel), "old port": c.Int(SMTPPort),
		"file": n.File() == c.File(),
	}
	want := map[string]any{
		"new model": "admin-model", "new source": SourceAdmin,
		"new host": "mail.env", "new port": 2525,
		"old model": "file-model", "old source": SourceFile, "old port": 587,
		"file": true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	back, err := n.WithAdmin(nil)
	if err != nil {
		t.Fatal(err)
	}
	if back.String(AIModel) != "file-model" {
		t.Errorf("WithAdmin(nil) kept the admin value %q", back.String(AIModel))
	}

	_, err = c.WithAdmin(MapLayer{SMTPPort: "abc", SMTPSecure: "yes", LogLevel: "loud"})
	wantErrs := []string{
		`admin settings: smtp.port: expected a non-negative integer, got "abc"`,
		`admin settings: smtp.secure: expected a boolean (true or false), got "yes"`,
	}
	checkErr(t, err, wantErrs, []string{"log.level"}) // log.level is never read from the admin layer
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name, key, value, want, wantErr string
	}{
		{name: "bool normalized", key: SMTPSecure, value: "1", want: "true"},
		{name: "list normalized", key: OIDCScopes, value: "a, b", want: "a,b"},
		{name: "bad int", key: AuditRetentionDays, value: "-1", wantErr: "expected a non-negative integer"},
		{name: "bad choice", key: SandboxProvider, value: "e2b", wantErr: "expected one of local, docker"},
		{name: "unknown", key: "ai.nope", value: "x", wantErr: `unknown setting "ai.nope"`},
		{name: "env-only", key: EncryptionKey, value: "x", wantErr: "set the environment variable ENCRYPTION_KEY"},
		{name: "start-up", key: RedisURL, value: "redis://x", wantErr: "set the environment variable REDIS_URL or put it in the config file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Validate(tt.key, tt.value)
			if tt.wantErr != "" {
				checkErr(t, err, []string{tt.wantErr}, nil)
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Validate = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestEnvErrors(t *testing.T) {
	_, err := Load(Options{Dir: t.TempDir(), Getenv: env(map[string]string{
		"SMTP_PORT":            "abc",
		"ENABLE_AUDIT_LOG":     "yes",
		"TASK_MAX_DURATION":    "5 minutes",
		"SANDBOX_PROVIDER":     "e2b",
		"LOG_FORMAT":           "xml",
		"AUDIT_RETENTION_DAYS": "-3",
	})})
	checkErr(t, err, []string{
		`environment variable SMTP_PORT (smtp.port): expected a non-negative integer, got "abc"`,
		`environment variable ENABLE_AUDIT_LOG (audit.enabled): expected a boolean (true or false), got "yes"`,
		`environment variable TASK_MAX_DURATION (tasks.maxDuration): expected a positive duration such as 30m or 1h30m, got "5 minutes"`,
		`environment variable SANDBOX_PROVIDER (sandbox.provider): expected one of local, docker, got "e2b"`,
		`environment variable LOG_FORMAT (log.format): expected one of text, json, got "xml"`,
		`environment variable AUDIT_RETENTION_DAYS (audit.retentionDays): expected a non-negative integer, got "-3"`,
	}, nil)
}

// checkErr fails unless err's message contains every string of want and none of notWant.
func checkErr(t *testing.T, err error, want, notWant []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q; it is:\n%v", w, err)
		}
	}
	for _, w := range notWant {
		if strings.Contains(err.Error(), w) {
			t.Errorf("error should not contain %q; it is:\n%v", w, err)
		}
	}
}
