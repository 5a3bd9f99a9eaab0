package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The same settings written in each format.
var sameSettings = map[string]string{
	"config.json": `{
  "ai": {"apiKey": "sk-file", "model": "llama3"},
  "registration": {"allowNewUsers": false},
  "sandbox": {"provider": "docker", "docker": {"image": "sesame:dev"}, "security": {"enabled": false}},
  "smtp": {"port": 2525, "secure": true},
  "tasks": {"maxDuration": "1h"},
  "oidc": {"scopes": ["openid", "groups"]},
  "audit": {"retentionDays": 0}
}`,
	"config.jsonc": `// Sesame settings
{
  "ai": {
    "apiKey": "sk-file", /* the utility model */
    "model": "llama3",
  },
  "registration": {"allowNewUsers": false,},
  "sandbox": {
    "provider": "docker",
    "docker": {"image": "sesame:dev"},
    "security": {"enabled": false},
  },
  "smtp": {"port": 2525, "secure": true}, // STARTTLS
  "tasks": {"maxDuration": "1h"},
  "oidc": {"scopes": ["openid", "groups",],},
  "audit": {"retentionDays": 0},
}
`,
	"config.yaml": `# Sesame settings
ai:
  apiKey: sk-file
  model: llama3
registration:
  allowNewUsers: false
sandbox:
  provider: docker
  docker:
    image: sesame:dev
  security:
    enabled: false
smtp:
  port: 2525
  secure: true
tasks:
  maxDuration: 1h
oidc:
  scopes:
    - openid
    - groups
audit:
  retentionDays: 0
`,
	"config.toml": `# Sesame settings
[ai]
apiKey = "sk-file"
model = "llama3"

[registration]
allowNewUsers = false

[sandbox]
provider = "docker"
docker.image = "sesame:dev"

[sandbox.security]
enabled = false

[smtp]
port = 2525
secure = true

[tasks]
maxDuration = "1h"

[oidc]
scopes = ["openid", "groups"]

[audit]
retentionDays = 0
`,
}

func TestFileFormats(t *testing.T) {
	want := map[string]string{
		AIAPIKey:                  "sk-file",
		AIModel:                   "llama3",
		RegistrationAllowNewUsers: "false",
		SandboxProvider:           "docker",
		SandboxDockerImage:        "sesame:dev",
		SandboxSecurityEnabled:    "false",
		SMTPPort:                  "2525",
		SMTPSecure:                "true",
		TasksMaxDuration:          "1h",
		OIDCScopes:                "openid,groups",
		AuditRetentionDays:        "0",
	}
	for name, content := range sameSettings {
		t.Run(name, func(t *testing.T) {
			c := mustLoad(t, map[string]string{name: content}, nil, nil)
			got := map[string]string{}
			for key, e := range c.values {
				if e.source == SourceFile {
					got[key] = e.value
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if c.Int(SMTPPort) != 2525 || c.Bool(SandboxSecurityEnabled) || c.String(SandboxProvider) != "docker" {
				t.Error("typed accessors disagree with the file")
			}
		})
	}
	// config.yml is YAML too.
	c := mustLoad(t, map[string]string{"config.yml": sameSettings["config.yaml"]}, nil, nil)
	if c.String(AIModel) != "llama3" {
		t.Errorf("config.yml: ai.model = %q", c.String(AIModel))
	}
}

// TestFileScalars checks that a scalar of another type is accepted where it
// converts cleanly.
func TestFileScalars(t *testing.T) {
	tests := []struct {
		name, file, content, key, want string
	}{
		{"yaml string for an int", "config.yaml", `smtp: {port: "2525"}`, SMTPPort, "2525"},
		{"json float that is whole", "config.json", `{"smtp": {"port": 2525.0}}`, SMTPPort, "2525"},
		{"toml float that is whole", "config.toml", "[smtp]\nport = 2525.0", SMTPPort, "2525"},
		{"json string for a bool", "config.json", `{"smtp": {"secure": "true"}}`, SMTPSecure, "true"},
		{"yaml number for a string", "config.yaml", "oidc:\n  clientId: 12345", OIDCClientID, "12345"},
		{"json number for a string", "config.json", `{"oidc": {"clientId": 12345}}`, OIDCClientID, "12345"},
		{"toml bool for a string", "config.toml", "[oidc]\nproviderName = true", OIDCProviderName, "true"},
		{"comma string for a list", "config.yaml", "oidc: {scopes: 'openid, email'}", OIDCScopes, "openid,email"},
		{"empty list", "config.json", `{"oidc": {"scopes": []}}`, OIDCScopes, ""},
		{"dotted key", "config.json", `{"sandbox.docker.image": "img:1"}`, SandboxDockerImage, "img:1"},
		{"null means not set", "config.yaml", "ai:\n  model:\n", AIModel, "gpt-4o-mini"},
		{"empty string is a value", "config.json", `{"ai": {"baseUrl": ""}}`, AIBaseURL, ""},
		{"json int for appId", "config.json", `{"github": {"appId": 123456}}`, GitHubAppID, "123456"},
		{"multi-line yaml string", "config.yaml", "github:\n  privateKey: |\n    line1\n    line2\n", GitHubPrivateKey, "line1\nline2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, map[string]string{tt.file: tt.content}, nil, nil)
			if got := c.values[tt.key].value; got != tt.want {
				t.Errorf("%s = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestEmptyFiles(t *testing.T) {
	for _, tt := range []struct{ name, content string }{
		{"config.yaml", ""},
		{"config.yaml", "# nothing yet\n"},
		{"config.json", "  \n"},
		{"config.jsonc", "// nothing yet\n"},
		{"config.json", "{}"},
		{"config.toml", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, map[string]string{tt.name: tt.content}, nil, nil)
			if c.File() == "" || c.Source(AIModel) != SourceDefault {
				t.Errorf("File = %q, Source = %s", c.File(), c.Source(AIModel))
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		path    string // explicit Options.Path, relative to the directory
		want    []string
		notWant []string
	}{
		{
			name:  "two config files",
			files: map[string]string{"config.json": "{}", "config.yaml": ""},
			want:  []string{"found 2 config files in", "config.json, ", "config.yaml; keep exactly one"},
		},
		{
			name:  "yaml and yml",
			files: map[string]string{"config.yml": "", "config.yaml": "", "config.toml": ""},
			want:  []string{"found 3 config files", "config.yaml, ", "config.yml, ", "config.toml"},
		},
		{
			name:  "unknown key with suggestion",
			files: map[string]string{"config.yaml": "registration:\n  allowNewUser: false\n"},
			want:  []string{`config.yaml: unknown key "registration.allowNewUser" (did you mean "registration.allowNewUsers"?)`},
		},
		{
			name:  "unknown group with suggestion",
			files: map[string]string{"config.json": `{"smpt": {"host": "x"}}`},
			want:  []string{`config.json: unknown key "smpt" (did you mean "smtp"?)`},
		},
		{
			name:  "wrong case",
			files: map[string]string{"config.json": `{"ai": {"apikey": "x"}}`},
			want:  []string{`unknown key "ai.apikey" (did you mean "ai.apiKey"?)`},
		},
		{
			name:  "env var name as key",
			files: map[string]string{"config.yaml": "AI_MODEL: llama3\n"},
			want:  []string{`unknown key "AI_MODEL" (did you mean "ai.model"?)`},
		},
		{
			name:    "unknown key far from everything",
			files:   map[string]string{"config.yaml": "zzzzqqqq: 1\n"},
			want:    []string{`config.yaml: unknown key "zzzzqqqq"`},
			notWant: []string{"did you mean"},
		},
		{
			name:  "bool given yes",
			files: map[string]string{"config.yaml": "registration:\n  allowNewUsers: yes\n"},
			want:  []string{`config.yaml: registration.allowNewUsers: expected a boolean (true or false), got "yes"`},
		},
		{
			name:  "int given abc",
			files: map[string]string{"config.json": `{"smtp": {"port": "abc"}}`},
			want:  []string{`config.json: smtp.port: expected a non-negative integer, got "abc"`},
		},
		{
			name:  "int given a fraction",
			files: map[string]string{"config.json": `{"smtp": {"port": 25.5}}`},
			want:  []string{`smtp.port: expected a non-negative integer, got "25.5"`},
		},
		{
			name:  "duration given words",
			files: map[string]string{"config.toml": "[tasks]\nmaxDuration = \"5 minutes\"\n"},
			want:  []string{`config.toml: tasks.maxDuration: expected a positive duration such as 30m or 1h30m, got "5 minutes"`},
		},
		{
			name:  "duration given a bare number",
			files: map[string]string{"config.yaml": "tasks: {maxDuration: 30}\n"},
			want:  []string{`tasks.maxDuration: expected a positive duration`},
		},
		{
			name:  "provider not local or docker",
			files: map[string]string{"config.yaml": "sandbox: {provider: e2b}\n"},
			want:  []string{`sandbox.provider: expected one of local, docker, got "e2b"`},
		},
		{
			name:  "list for a string",
			files: map[string]string{"config.json": `{"ai": {"model": ["a"]}}`},
			want:  []string{`ai.model: expected a string, got a list`},
		},
		{
			name:  "table for a leaf",
			files: map[string]string{"config.json": `{"ai": {"model": {"name": "a"}}}`},
			want:  []string{`ai.model: expected a string, got a table`},
		},
		{
			name:  "scalar for a group",
			files: map[string]string{"config.yaml": "sandbox: docker\n"},
			want:  []string{`config.yaml: sandbox holds settings; expected a table of keys, got "docker"`},
		},
		{
			name:  "list item with a comma",
			files: map[string]string{"config.json": `{"oidc": {"scopes": ["a,b"]}}`},
			want:  []string{`oidc.scopes: list item "a,b" contains a comma`},
		},
		{
			name:  "env-only setting in the file",
			files: map[string]string{"config.yaml": "auth:\n  secret: abc\nencryption:\n  key: abc\nserver:\n  baseUrl: https://x\n"},
			want: []string{
				"config.yaml: auth.secret cannot be set in the config file; set the environment variable BETTER_AUTH_SECRET instead",
				"encryption.key cannot be set in the config file; set the environment variable ENCRYPTION_KEY instead",
				"server.baseUrl cannot be set in the config file; set the environment variable BASE_URL instead",
			},
		},
		{
			name:  "every problem at once",
			files: map[string]string{"config.yaml": "ai: {modle: x}\nsmtp: {port: abc}\n"},
			want:  []string{`unknown key "ai.modle" (did you mean "ai.model"?)`, `smtp.port: expected`},
		},
		{
			name:  "set twice",
			files: map[string]string{"config.json": `{"ai": {"model": "a"}, "ai.model": "b"}`},
			want:  []string{"config.json: ai.model is set twice"},
		},
		{
			name:  "json duplicate key",
			files: map[string]string{"config.json": `{"ai": {"model": "a", "model": "b"}}`},
			want:  []string{`config.json: invalid json: duplicate key "model"`},
		},
		{
			name:  "json syntax error has a line",
			files: map[string]string{"config.json": "{\n  \"ai\": {\"model\": \"a\",}\n}"},
			want:  []string{"config.json: invalid json: line 2"},
		},
		{
			name:  "comments are not json",
			files: map[string]string{"config.json": "// hi\n{}"},
			want:  []string{"config.json: invalid json"},
		},
		{
			name:  "yaml top level not a map",
			files: map[string]string{"config.yaml": "- a\n- b\n"},
			want:  []string{"config.yaml: invalid yaml: the top level must be a mapping of settings, got a list"},
		},
		{
			name:  "broken toml",
			files: map[string]string{"config.toml": "[ai\nmodel = 1"},
			want:  []string{"config.toml: invalid toml"},
		},
		{
			name: "explicit path that does not exist",
			path: "missing.yaml",
			want: []string{"config file: open", "missing.yaml"},
		},
		{
			name:  "explicit path with an unknown extension",
			files: map[string]string{"sesame.conf": ""},
			path:  "sesame.conf",
			want:  []string{"sesame.conf: unknown extension; use .json, .jsonc, .yaml, .yml or .toml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			opts := Options{Dir: dir, Getenv: env(nil)}
			if tt.path != "" {
				opts.Path = filepath.Join(dir, tt.path)
			}
			c, err := Load(opts)
			if c != nil {
				t.Error("Load returned a Config with an error")
			}
			checkErr(t, err, tt.want, tt.notWant)
		})
	}
}

func TestExplicitPath(t *testing.T) {
	// An explicit path is read even when the directory holds other config files.
	dir := writeFiles(t, map[string]string{"config.json": "{}", "config.yaml": ""})
	other := writeFiles(t, map[string]string{"prod.toml": "[ai]\nmodel = \"from-toml\"\n"})
	path := filepath.Join(other, "prod.toml")
	c, err := Load(Options{Path: path, Dir: dir, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c.String(AIModel) != "from-toml" || c.File() != path {
		t.Errorf("ai.model = %q from %q", c.String(AIModel), c.File())
	}
}

func TestWorkingDirectory(t *testing.T) {
	dir := writeFiles(t, map[string]string{"config.yaml": "ai: {model: cwd}\n"})
	t.Chdir(dir)
	c, err := Load(Options{Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c.String(AIModel) != "cwd" || c.File() != "config.yaml" {
		t.Errorf("ai.model = %q from %q", c.String(AIModel), c.File())
	}
	// A directory named like a config file is not one.
	if err := os.Mkdir(filepath.Join(dir, "config.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Options{Getenv: env(nil)}); err != nil {
		t.Errorf("a directory named config.json counted as a config file: %v", err)
	}
}
