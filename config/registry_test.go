package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// undocumented marks a default the settings page does not state.
const undocumented = "(undocumented)"

// documented is written out by hand from the product's settings page (and,
// for the bot's settings, from the design brief). A setting added, renamed or
// re-defaulted in the registry without updating this list fails the test.
var documented = []struct {
	env, key, def string
}{
	// Required environment.
	{"BETTER_AUTH_SECRET", "auth.secret", ""},
	{"BASE_URL", "server.baseUrl", ""},
	{"ENCRYPTION_KEY", "encryption.key", ""},
	// AI provider for utility tasks.
	{"AI_API_KEY", "ai.apiKey", ""},
	{"AI_BASE_URL", "ai.baseUrl", "https://api.openai.com/v1"},
	{"AI_MODEL", "ai.model", "gpt-4o-mini"},
	// SSO / OIDC.
	{"OIDC_ENABLED", "oidc.enabled", "false"},
	{"OIDC_PROVIDER_ID", "oidc.providerId", "oidc"},
	{"OIDC_PROVIDER_NAME", "oidc.providerName", "SSO"},
	{"OIDC_CLIENT_ID", "oidc.clientId", ""},
	{"OIDC_CLIENT_SECRET", "oidc.clientSecret", ""},
	{"OIDC_ISSUER", "oidc.issuer", ""},
	{"OIDC_AUTHORIZATION_URL", "oidc.authorizationUrl", ""},
	{"OIDC_TOKEN_URL", "oidc.tokenUrl", ""},
	{"OIDC_USERINFO_URL", "oidc.userInfoUrl", ""},
	{"OIDC_SCOPES", "oidc.scopes", undocumented},
	{"OIDC_ALLOW_SIGNUP", "oidc.allowSignUp", undocumented},
	// Sandbox provider and tasks.
	{"SANDBOX_PROVIDER", "sandbox.provider", "local"},
	{"TASK_DIR_BASE", "tasks.baseDirectory", "/tmp/sesame"},
	{"DOCKER_SANDBOX_IMAGE", "sandbox.docker.image", "ghcr.io/jakejarvis/sesame-sandbox:latest"},
	// Named by the sandbox-security issue (admin page at /admin/sandbox): no default.
	{"SANDBOX_ALLOWED_DOMAINS", "sandbox.allowedDomains", ""},
	{"SANDBOX_DENIED_DOMAINS", "sandbox.deniedDomains", ""},
	{"TASK_MAX_DURATION", "tasks.maxDuration", "30m"},
	// Budgets (issue 14, item 5): a task's cost, what a request may ask, a user's month, the prices.
	{"TASK_COST_BUDGET", "tasks.costBudget", undocumented},
	{"TASK_MAX_COST_BUDGET", "tasks.maxCostBudget", undocumented},
	{"USER_MONTHLY_COST_BUDGET", "tasks.userMonthlyBudget", undocumented},
	{"MODEL_PRICES", "tasks.modelPrices", undocumented},
	// The seed's "Runtime & Dependency Management" runs by itself; this turns it off (issue 11).
	{"TASK_INSTALL_RUNTIMES", "tasks.installRuntimes", undocumented},
	// Issue 16, item 2: the mirror cache's disk budget, kept by a periodic eviction.
	{"MIRROR_CACHE_BUDGET", "tasks.mirrorCacheBudget", "20g"},
	// Issue 16, item 1: spare working trees per repository, for tasks that start at once.
	{"WORKSPACE_SPARES", "tasks.workspaceSpares", "2"},
	{"AGENTS_DIR", "agents.installDir", ""},
	{"WORKER_CONCURRENCY", "worker.concurrency", "10"},
	{"WORKER_POLL_INTERVAL", "worker.pollInterval", "50ms"},
	{"QUEUE_RECONCILE_INTERVAL", "queue.reconcileInterval", "10s"},
	// User registration.
	{"ALLOW_USER_REGISTRATION", "registration.allowNewUsers", "true"},
	{"REQUIRE_EMAIL_VERIFICATION", "registration.requireEmailVerification", "false"},
	// SMTP.
	{"SMTP_HOST", "smtp.host", ""},
	{"SMTP_PORT", "smtp.port", "587"},
	{"SMTP_SECURE", "smtp.secure", "false"},
	{"SMTP_USER", "smtp.user", ""},
	{"SMTP_PASS", "smtp.pass", ""},
	{"SMTP_FROM", "smtp.from", ""},
	// Agent API keys.
	{"ANTHROPIC_API_KEY", "agents.anthropicApiKey", ""},
	{"ANTHROPIC_BASE_URL", "agents.anthropicBaseUrl", ""},
	{"CLAUDE_CODE_OAUTH_TOKEN", "agents.claudeCodeOauthToken", ""},
	{"OPENAI_API_KEY", "agents.openaiApiKey", ""},
	{"GEMINI_API_KEY", "agents.geminiApiKey", ""},
	{"COPILOT_GITHUB_TOKEN", "agents.copilotGithubToken", ""},
	// Endpoint overrides named after each CLI's own variable, and the keys that go with them (issue 13).
	{"OPENAI_BASE_URL", "agents.openaiBaseUrl", undocumented},
	{"GOOGLE_GEMINI_BASE_URL", "agents.geminiBaseUrl", undocumented},
	{"COPILOT_PROVIDER_API_KEY", "agents.copilotProviderApiKey", undocumented},
	{"COPILOT_PROVIDER_BASE_URL", "agents.copilotProviderBaseUrl", undocumented},
	{"COPILOT_PROVIDER_TYPE", "agents.copilotProviderType", undocumented},
	{"OPENCODE_API_KEY", "agents.opencodeApiKey", undocumented},
	{"OPENCODE_BASE_URL", "agents.opencodeBaseUrl", undocumented},
	// Sandbox security, audit, git, avatars.
	{"SANDBOX_SECURITY_ENABLED", "sandbox.security.enabled", "true"},
	// Container limits of the docker provider (issue: the Docker sandbox provider).
	{"DOCKER_SANDBOX_CPUS", "sandbox.docker.cpus", undocumented},
	{"DOCKER_SANDBOX_MEMORY", "sandbox.docker.memory", undocumented},
	{"DOCKER_SANDBOX_PIDS", "sandbox.docker.pids", undocumented},
	// Whether users may turn security off for a task (the seed's /admin/sandbox toggle).
	{"SANDBOX_SECURITY_ALLOW_DISABLE", "sandbox.security.allowDisable", undocumented},
	{"ENABLE_AUDIT_LOG", "audit.enabled", "true"},
	{"AUDIT_RETENTION_DAYS", "audit.retentionDays", "90"},
	{"GIT_INCLUDE_CO_AUTHORED_BY", "git.includeCoAuthoredBy", "true"},
	{"GRAVATAR_ENABLED", "gravatar.enabled", "true"},
	// The bot and its infrastructure.
	{"GITHUB_APP_ID", "github.appId", undocumented},
	{"GITHUB_APP_PRIVATE_KEY", "github.privateKey", ""},
	{"GITHUB_APP_PRIVATE_KEY_PATH", "github.privateKeyPath", ""},
	{"GITHUB_WEBHOOK_SECRET", "github.webhookSecret", ""},
	{"GITHUB_API_URL", "github.apiUrl", "https://api.github.com/"},
	// Issue 12: the Slack app.
	{"SLACK_SIGNING_SECRET", "slack.signingSecret", ""},
	{"SLACK_BOT_TOKEN", "slack.botToken", ""},
	{"SLACK_API_URL", "slack.apiUrl", "https://slack.com/api/"},
	{"DATABASE_URL", "database.url", "postgres://postgres@127.0.0.1:5432/sesame?sslmode=disable"},
	{"REDIS_URL", "redis.url", "redis://127.0.0.1:6379/0"},
	{"LISTEN_ADDR", "server.listen", ":8080"},
	// Named by issue 9 (sign-in limits behind a reverse proxy): off by default.
	{"TRUSTED_PROXIES", "server.trustedProxies", ""},
	{"LOG_LEVEL", "log.level", "info"},
	{"LOG_FORMAT", "log.format", "text"},
	{"METRICS_TOKEN", "metrics.token", ""},
	{"METRICS_LISTEN_ADDR", "metrics.listen", ""},
}

func TestDocumentedSettings(t *testing.T) {
	var want, got []string
	for _, d := range documented {
		want = append(want, d.key)
	}
	for _, s := range Settings() {
		got = append(got, s.Key)
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("registry keys differ from the documented list (-documented +registry):\n%s", diff)
	}
	for _, d := range documented {
		t.Run(d.env, func(t *testing.T) {
			s, ok := Lookup(d.key)
			if !ok {
				t.Fatalf("no setting %s", d.key)
			}
			if s.Env != d.env {
				t.Errorf("%s: Env = %s, want %s", d.key, s.Env, d.env)
			}
			if d.def != undocumented && s.Default != d.def {
				t.Errorf("%s: Default = %q, want %q", d.key, s.Default, d.def)
			}
			// The variable really sets the setting.
			value := sampleValue(s)
			c, err := Load(Options{Dir: t.TempDir(), Getenv: env(map[string]string{d.env: value})})
			if err != nil {
				t.Fatal(err)
			}
			if src := c.Source(d.key); src != SourceEnv {
				t.Errorf("%s=%s: Source(%s) = %s, want env", d.env, value, d.key, src)
			}
		})
	}
}

func TestAliases(t *testing.T) {
	want := map[string][]string{
		AIAPIKey:                 {"AI_API_KEY", "OPENAI_API_KEY"},
		AgentsCopilotGitHubToken: {"COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN"},
	}
	got := map[string][]string{}
	for _, s := range Settings() {
		if len(s.Aliases) > 0 {
			got[s.Key] = s.EnvNames()
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("aliases (-want +got):\n%s", diff)
	}
}

func TestSecretsAndRequired(t *testing.T) {
	wantSecret := []string{
		AIAPIKey, AgentsAnthropicAPIKey, AgentsClaudeCodeOAuthToken, AgentsCopilotGitHubToken,
		AgentsGeminiAPIKey, AgentsOpenAIAPIKey, AgentsCopilotProviderKey, AgentsOpenCodeAPIKey,
		AuthSecret, DatabaseURL, EncryptionKey,
		GitHubPrivateKey, GitHubWebhookSecret, MetricsToken, OIDCClientSecret, RedisURL, SMTPPass,
		SlackBotToken, SlackSigningSecret,
	}
	wantRequired := []string{AuthSecret, EncryptionKey, ServerBaseURL}
	var secret, required, envOnly []string
	for _, s := range Settings() {
		if s.Secret {
			secret = append(secret, s.Key)
		}
		if s.Required {
			required = append(required, s.Key)
		}
		if s.EnvOnly {
			envOnly = append(envOnly, s.Key)
		}
	}
	slices.Sort(wantSecret)
	slices.Sort(secret)
	slices.Sort(required)
	slices.Sort(envOnly)
	if diff := cmp.Diff(wantSecret, secret); diff != "" {
		t.Errorf("secret settings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantRequired, required); diff != "" {
		t.Errorf("required settings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantRequired, envOnly); diff != "" {
		t.Errorf("env-only settings (-want +got):\n%s", diff)
	}
	for _, key := range required {
		if _, ok := requirements[key]; !ok {
			t.Errorf("required setting %s has no entry in requirements", key)
		}
	}
	if len(requirements) != len(required) {
		t.Errorf("requirements has %d entries, want %d", len(requirements), len(required))
	}
}

// TestRegistryShape checks the invariants the rest of the package relies on.
func TestRegistryShape(t *testing.T) {
	keys := map[string]bool{}
	envs := map[string]string{}
	closed := map[string]bool{} // group prefixes already left behind
	var prev []string
	for _, s := range Settings() {
		if keys[s.Key] {
			t.Errorf("duplicate key %s", s.Key)
		}
		keys[s.Key] = true
		if groups[s.Key] {
			t.Errorf("%s is both a setting and a group", s.Key)
		}
		if other, dup := envs[s.Env]; dup {
			t.Errorf("%s and %s share %s", other, s.Key, s.Env)
		}
		envs[s.Env] = s.Key
		if s.Description == "" || strings.Contains(s.Description, "\n") {
			t.Errorf("%s: description must be one non-empty line", s.Key)
		}
		if v, err := normalize(s, s.Default); err != nil || v != s.Default {
			t.Errorf("%s: default %q does not normalize to itself: %q, %v", s.Key, s.Default, v, err)
		}
		if s.Type == TypeBool || s.Type == TypeInt || s.Type == TypeDuration {
			if s.Default == "" {
				t.Errorf("%s: a %s setting needs a default", s.Key, s.Type)
			}
		}
		// Grouped order: once a group is left it never comes back.
		parts := strings.Split(s.Key, ".")
		group := parts[:len(parts)-1]
		for i := range prev {
			p := strings.Join(prev[:i+1], ".")
			if i >= len(group) || strings.Join(group[:i+1], ".") != p {
				closed[p] = true
			}
		}
		for i := range group {
			if p := strings.Join(group[:i+1], "."); closed[p] {
				t.Errorf("%s: group %s appears in two places in the registry", s.Key, p)
			}
		}
		prev = group
	}
	// Settings returns a copy.
	a := Settings()
	a[0].Key = "changed"
	if Settings()[0].Key == "changed" {
		t.Error("Settings returned the registry itself")
	}
}

// sampleValue returns a valid value for s that differs from its default
// where possible.
func sampleValue(s Setting) string {
	if len(s.Choices) > 0 {
		return s.Choices[len(s.Choices)-1]
	}
	switch s.Format {
	case FormatPrices:
		return "model-a 1 2,model-b 3 4 0.3"
	case FormatUSD:
		return "7.25"
	}
	switch s.Type {
	case TypeBool:
		if s.Default == "true" {
			return "false"
		}
		return "true"
	case TypeInt:
		return "7"
	case TypeDuration:
		return "1h"
	case TypeList:
		return "a.example,b.example"
	}
	switch s.Format {
	case FormatURL:
		return "https://sample.example/" + s.Env
	case FormatDecimal:
		return "1.5"
	case FormatBytes, FormatLimit:
		return "512m"
	}
	return "sample-" + s.Env
}
