package config

import "slices"

// Type is the kind of value a setting holds.
type Type string

// Setting types. Every value is kept as text; the type says how it is parsed.
const (
	TypeString   Type = "string"
	TypeBool     Type = "bool"     // true or false (also 1/0, t/f as strconv.ParseBool reads them)
	TypeInt      Type = "int"      // a non-negative decimal integer
	TypeDuration Type = "duration" // a positive Go duration such as 30m or 1h30m
	TypeList     Type = "list"     // comma-separated in env and admin values; a list or a string in the file
)

// Setting describes one setting. The registry holds one per key; read it with
// Settings or Lookup.
type Setting struct {
	Key      string   // path in the config file, e.g. "registration.allowNewUsers"
	Env      string   // environment variable that sets and locks it
	Aliases  []string // other environment variables read, in order, when Env is not set
	Type     Type     // how the value is parsed
	Default  string   // value when no layer sets it
	Secret   bool     // masked by Describe and listed by Secrets
	Required bool     // checked by Config.CheckRequired
	EnvOnly  bool     // only from the environment: never from the file or the admin layer
	Startup  bool     // needed before the database is reachable: never from the admin layer
	Choices  []string // the only values accepted, when not empty
	Format   Format   // what a string or list value must look like besides its type
	// Restart says that a value saved in the admin settings applies only after a restart: the part
	// it configures is built when Sesame starts. Startup settings cannot be saved there at all.
	Restart bool
	// NotYet says, for a setting that nothing uses yet, what is missing; "" when the setting works.
	NotYet      string
	Description string // one line for the admin page and config.yaml.example
}

// Format is what a value must look like besides its type.
type Format string

// Formats.
const (
	FormatAny       Format = ""
	FormatURL       Format = "url"       // an http or https URL, or empty
	FormatHosts     Format = "hosts"     // a list of names, *.names or IP addresses
	FormatEndpoints Format = "endpoints" // FormatHosts, or host:port (an exact endpoint)
	FormatPort      Format = "port"      // 1 to 65535
	FormatDecimal   Format = "decimal"   // a positive decimal number such as 2 or 0.5
	FormatBytes     Format = "bytes"     // a size: a number of bytes, or with k, m or g (1024-based)
	FormatLimit     Format = "limit"     // FormatBytes, or 0 for no limit
	FormatUSD       Format = "usd"       // an amount of US dollars, 0 or more, at most two decimals: 5 or 2.50
	FormatPrices    Format = "prices"    // a list of model prices (sesame.ParsePrices)
)

// FromFile reports whether the config file may set s.
func (s Setting) FromFile() bool { return !s.EnvOnly }

// FromAdmin reports whether a value saved in the admin UI may set s.
func (s Setting) FromAdmin() bool { return !s.EnvOnly && !s.Startup }

// Live reports whether a value saved in the admin UI applies without a restart.
func (s Setting) Live() bool { return s.FromAdmin() && !s.Restart }

// EnvNames returns Env followed by Aliases: the variables read, in order.
func (s Setting) EnvNames() []string {
	return append([]string{s.Env}, s.Aliases...)
}

// registry is every setting, grouped by the first part of the key. The order is
// the order of Settings, Describe and config.yaml.example; keep each group,
// and each sub-group, in one run.
var registry = []Setting{
	// Server and start-up.
	{Key: ServerBaseURL, Env: "BASE_URL", Type: TypeString, Required: true, EnvOnly: true,
		Description: "Public URL of this deployment, used in links and sign-in callbacks"},
	{Key: ServerListen, Env: "LISTEN_ADDR", Type: TypeString, Default: ":8080", Startup: true,
		Description: "Address the HTTP server listens on"},
	{Key: ServerTrustedProxies, Env: "TRUSTED_PROXIES", Type: TypeList, Startup: true,
		Description: "IPs or CIDRs of the reverse proxies in front of Sesame whose X-Forwarded-For is believed: a request straight from one of them comes from the right-most address in that header that is not a listed proxy; empty believes no X-Forwarded-For"},
	{Key: AuthSecret, Env: "BETTER_AUTH_SECRET", Type: TypeString, Secret: true, Required: true, EnvOnly: true,
		Description: "Key that signs and encrypts sign-in sessions, at least 32 characters"},
	{Key: EncryptionKey, Env: "ENCRYPTION_KEY", Type: TypeString, Secret: true, Required: true, EnvOnly: true,
		Description: "Key that encrypts stored API keys and tokens, 64 hex characters"},
	{Key: DatabaseURL, Env: "DATABASE_URL", Type: TypeString, Secret: true, Startup: true,
		Default:     "postgres://postgres@127.0.0.1:5432/sesame?sslmode=disable",
		Description: "PostgreSQL connection URL"},
	{Key: RedisURL, Env: "REDIS_URL", Type: TypeString, Secret: true, Startup: true,
		Default:     "redis://127.0.0.1:6379/0",
		Description: "Redis connection URL for the task queue and live task events"},
	{Key: LogLevel, Env: "LOG_LEVEL", Type: TypeString, Default: "info", Startup: true,
		Choices:     []string{"debug", "info", "warn", "error"},
		Description: "Least severe level that is logged: debug, info, warn or error"},
	{Key: LogFormat, Env: "LOG_FORMAT", Type: TypeString, Default: "text", Startup: true,
		Choices:     []string{"text", "json"},
		Description: "Log line format: text or json"},

	// Prometheus metrics.
	{Key: MetricsToken, Env: "METRICS_TOKEN", Type: TypeString, Secret: true, Startup: true,
		Description: "Bearer token that /metrics on the main listener asks for (Authorization: Bearer <token>); empty: /metrics is not served there (404)"},
	{Key: MetricsListen, Env: "METRICS_LISTEN_ADDR", Type: TypeString, Startup: true,
		Description: "Separate address that serves /metrics without a token, e.g. 127.0.0.1:9090 (a worker gets an HTTP listener for it); empty: none"},

	// GitHub App.
	{Key: GitHubAppID, Env: "GITHUB_APP_ID", Type: TypeInt, Default: "0",
		Description: "Numeric ID of the GitHub App; 0 means no app is configured. Creating the app from /admin/github saves it, with the key and the webhook secret"},
	{Key: GitHubPrivateKey, Env: "GITHUB_APP_PRIVATE_KEY", Type: TypeString, Secret: true,
		Description: "Private key of the GitHub App as PEM text"},
	{Key: GitHubPrivateKeyPath, Env: "GITHUB_APP_PRIVATE_KEY_PATH", Type: TypeString,
		Description: "File holding the GitHub App private key, read when the PEM text is not set"},
	{Key: GitHubWebhookSecret, Env: "GITHUB_WEBHOOK_SECRET", Type: TypeString, Secret: true,
		Description: "Secret that GitHub signs webhook deliveries with"},
	{Key: GitHubAPIURL, Env: "GITHUB_API_URL", Type: TypeString, Default: "https://api.github.com/",
		Format:      FormatURL,
		Description: "GitHub REST API root; change it for GitHub Enterprise Server"},

	// Slack app.
	{Key: SlackSigningSecret, Env: "SLACK_SIGNING_SECRET", Type: TypeString, Secret: true,
		Restart:     true,
		Description: "Signing secret of the Slack app, which Slack signs slash commands and button clicks with; empty refuses every Slack request"},
	{Key: SlackBotToken, Env: "SLACK_BOT_TOKEN", Type: TypeString, Secret: true,
		Restart:     true,
		Description: "Bot token of the Slack app (xoxb-...), with which Sesame looks up who asked and posts and updates task messages"},
	{Key: SlackAPIURL, Env: "SLACK_API_URL", Type: TypeString, Default: "https://slack.com/api/",
		Restart:     true,
		Format:      FormatURL,
		Description: "Slack Web API root; change it only for a proxy in front of Slack"},

	// Model for utility tasks.
	{Key: AIAPIKey, Env: "AI_API_KEY", Aliases: []string{"OPENAI_API_KEY"}, Type: TypeString, Secret: true,
		Description: "API key of the utility model, which names a task's branch and writes its commit message and pull request title (10 s a question; Sesame's own names when it is unset, fails or answers wrongly). OPENAI_API_KEY alone sets it too: Codex's key turns the utility model on against OpenAI. Empty with the default base URL: no utility model"},
	{Key: AIBaseURL, Env: "AI_BASE_URL", Type: TypeString, Default: "https://api.openai.com/v1",
		Format:      FormatURL,
		Description: "Base URL of the utility model's OpenAI-compatible Chat Completions API ({this}/chat/completions); another than OpenAI's, e.g. http://localhost:11434/v1 for Ollama, turns the utility model on without a key"},
	{Key: AIModel, Env: "AI_MODEL", Type: TypeString, Default: "gpt-4o-mini",
		Description: "Model the utility model's questions name"},

	// Shared agent credentials, used when a user has none of their own.
	{Key: AgentsInstallDir, Env: "AGENTS_DIR", Type: TypeString, Startup: true,
		Description: "Folder where scripts/install-agents puts the agent CLIs ({dir}/{agent}/node_modules/.bin/{program}); a CLI not there, or every CLI when empty, is looked up on the server's PATH when Sesame starts; the docker provider runs those of its image"},
	{Key: AgentsAnthropicAPIKey, Env: "ANTHROPIC_API_KEY", Type: TypeString, Secret: true,
		Description: "Shared Anthropic API key for Claude Code"},
	{Key: AgentsAnthropicBaseURL, Env: "ANTHROPIC_BASE_URL", Type: TypeString,
		Format:      FormatURL,
		Description: "Other Anthropic API endpoint for Claude Code; empty means Anthropic's own"},
	{Key: AgentsClaudeCodeOAuthToken, Env: "CLAUDE_CODE_OAUTH_TOKEN", Type: TypeString, Secret: true,
		Description: "Shared Claude subscription OAuth token for Claude Code"},
	{Key: AgentsOpenAIAPIKey, Env: "OPENAI_API_KEY", Type: TypeString, Secret: true,
		Description: "Shared OpenAI API key for Codex"},
	{Key: AgentsOpenAIBaseURL, Env: "OPENAI_BASE_URL", Type: TypeString,
		Format:      FormatURL,
		Description: "Other OpenAI Responses API endpoint for Codex (e.g. https://gateway.example.com/v1); empty means OpenAI's own"},
	{Key: AgentsGeminiAPIKey, Env: "GEMINI_API_KEY", Type: TypeString, Secret: true,
		Description: "Shared Google API key for Gemini CLI"},
	{Key: AgentsGeminiBaseURL, Env: "GOOGLE_GEMINI_BASE_URL", Type: TypeString,
		Format:      FormatURL,
		Description: "Other Gemini API endpoint for Gemini CLI; empty means Google's own"},
	{Key: AgentsCopilotGitHubToken, Env: "COPILOT_GITHUB_TOKEN", Aliases: []string{"GH_TOKEN", "GITHUB_TOKEN"},
		Type: TypeString, Secret: true,
		Description: "Shared GitHub token with Copilot access for Copilot CLI"},
	{Key: AgentsCopilotProviderKey, Env: "COPILOT_PROVIDER_API_KEY", Type: TypeString, Secret: true,
		Description: "API key of the model provider at COPILOT_PROVIDER_BASE_URL, for Copilot CLI"},
	{Key: AgentsCopilotProviderURL, Env: "COPILOT_PROVIDER_BASE_URL", Type: TypeString,
		Format:      FormatURL,
		Description: "Model provider endpoint for Copilot CLI instead of GitHub Copilot (e.g. https://gateway.example.com/v1); empty means GitHub Copilot"},
	{Key: AgentsCopilotProviderType, Env: "COPILOT_PROVIDER_TYPE", Type: TypeString,
		Choices:     []string{"", "openai", "azure", "anthropic"},
		Description: "API the provider at COPILOT_PROVIDER_BASE_URL speaks: openai (Chat Completions), azure or anthropic (Messages); empty means openai"},
	{Key: AgentsOpenCodeAPIKey, Env: "OPENCODE_API_KEY", Type: TypeString, Secret: true,
		Description: "Shared API key for OpenCode, sent to OPENCODE_BASE_URL (OpenAI's API when that is empty); empty uses OPENAI_API_KEY"},
	{Key: AgentsOpenCodeBaseURL, Env: "OPENCODE_BASE_URL", Type: TypeString,
		Format:      FormatURL,
		Description: "OpenAI-compatible API endpoint for OpenCode (e.g. https://gateway.example.com/v1); empty means OpenAI's own"},

	// Sandboxes and tasks.
	{Key: SandboxProvider, Env: "SANDBOX_PROVIDER", Type: TypeString, Default: "local",
		Choices:     []string{"local", "docker"},
		Restart:     true,
		Description: "Where tasks run: local (processes on this host) or docker (containers)"},
	{Key: SandboxDockerImage, Env: "DOCKER_SANDBOX_IMAGE", Type: TypeString,
		Default:     "ghcr.io/jakejarvis/sesame-sandbox:latest",
		Restart:     true,
		Description: "Container image for the docker provider (built from sandbox/image/Dockerfile; uid 1000, see sandbox/image/README.md)"},
	{Key: SandboxDockerCPUs, Env: "DOCKER_SANDBOX_CPUS", Type: TypeString, Default: "2",
		Format: FormatDecimal, Restart: true,
		Description: "CPUs each task's container may use (docker provider), e.g. 2 or 0.5"},
	{Key: SandboxDockerMemory, Env: "DOCKER_SANDBOX_MEMORY", Type: TypeString, Default: "4g",
		Format: FormatBytes, Restart: true,
		Description: "Memory each task's container may use, no swap beyond it (docker provider), e.g. 4g or 512m"},
	{Key: SandboxDockerPIDs, Env: "DOCKER_SANDBOX_PIDS", Type: TypeInt, Default: "1024",
		Restart:     true,
		Description: "Processes each task's container may run at once (docker provider)"},
	{Key: SandboxSecurityEnabled, Env: "SANDBOX_SECURITY_ENABLED", Type: TypeBool, Default: "true",
		Description: "Run tasks' agents with OS-level restrictions (Landlock, seccomp, network only through the allowlist proxy) unless the task turns them off, which only sandbox.security.allowDisable permits; when off, users may turn them on per task"},
	{Key: SandboxSecurityAllowDisable, Env: "SANDBOX_SECURITY_ALLOW_DISABLE", Type: TypeBool, Default: "false",
		Description: "Let users turn sandbox security off for one task when it is on by default"},
	{Key: SandboxAllowedDomains, Env: "SANDBOX_ALLOWED_DOMAINS", Type: TypeList,
		Format:      FormatEndpoints,
		Description: "Domains every secured task may reach besides its agent's API (example.com exactly, *.example.com for its subdomains, host:port for exactly that endpoint even on a private address)"},
	{Key: SandboxDeniedDomains, Env: "SANDBOX_DENIED_DOMAINS", Type: TypeList,
		Format:      FormatHosts,
		Description: "Domains no secured task may reach, even when an agent or the allowed list names them"},
	{Key: TasksBaseDirectory, Env: "TASK_DIR_BASE", Type: TypeString, Default: "/tmp/sesame",
		Restart:     true,
		Description: "Directory under which each task gets its own workspace"},
	{Key: TasksMaxDuration, Env: "TASK_MAX_DURATION", Type: TypeDuration, Default: "30m",
		Description: "Longest a task's agent may run: it is then stopped, and what it did so far is opened as a draft pull request marked stopped at budget"},
	{Key: TasksCostBudget, Env: "TASK_COST_BUDGET", Type: TypeString, Default: "5.00", Format: FormatUSD,
		Description: "Most a task's agent may spend, in US dollars: once the cost it reports (or its tokens at tasks.modelPrices) passes this, it is stopped and what it did so far is opened as a draft pull request marked stopped at budget; a request's --budget replaces it, up to tasks.maxCostBudget; 0 means no limit"},
	{Key: TasksMaxCostBudget, Env: "TASK_MAX_COST_BUDGET", Type: TypeString, Default: "20.00", Format: FormatUSD,
		Description: "Largest cost budget a request may ask for its task with --budget, in US dollars; a task asking for more is refused when it starts; 0 lets no request set its own"},
	{Key: TasksUserMonthlyBudget, Env: "USER_MONTHLY_COST_BUDGET", Type: TypeString, Default: "0", Format: FormatUSD,
		Description: "Most the tasks counted against one Sesame user (their web and Slack tasks, and the GitHub tasks of the GitHub login they connected) may spend in a calendar month (UTC), in US dollars, unless an admin set that user's own on their page; once it is spent their tasks are refused before they start, and a task is stopped when it would spend more than is left; 0 means no limit"},
	{Key: TasksModelPrices, Env: "MODEL_PRICES", Type: TypeList, Format: FormatPrices,
		Default: "claude-opus-4-8 5 25 0.5 6.25,claude-sonnet-4-5 3 15 0.3 3.75,claude-haiku-4-5 1 5 0.1 1.25," +
			"gpt-5.5 5 30 0.5 5,gpt-5.4 2.5 15 0.25 2.5,gemini-2.5-pro 1.25 10 0.125 1.25",
		Description: "Model prices in US dollars per million tokens, one entry per model: MODEL INPUT OUTPUT [CACHE_READ [CACHE_WRITE]] (a cache price left out is the input price); a task's cost is counted from the tokens its agent reports at these prices until the agent reports a cost of its own; while neither is known (its model has no entry here: a dated version such as claude-opus-4-8-20260528 takes its model's) only the time limit bounds the task. The defaults are the vendors' published list prices (Anthropic, OpenAI, Google for prompts up to 200k tokens) for the default models of the agents, not what your contract says: check them"},
	{Key: TasksInstallRuntimes, Env: "TASK_INSTALL_RUNTIMES", Type: TypeBool, Default: "true",
		Description: "Before the agent starts, install in its sandbox the runtime versions the repository names (.nvmrc, .node-version, .python-version, .tool-versions, mise.toml) with mise, and its dependencies from its lockfiles (npm ci, pip, bundle install, go mod download, ...); the registries and download sites this needs (registry.npmjs.org, pypi.org, nodejs.org, github.com, ...) are then allowed through the sandbox's proxy for the whole task, the agent's own commands included"},
	{Key: TasksMirrorCacheBudget, Env: "MIRROR_CACHE_BUDGET", Type: TypeString, Default: "20g", Format: FormatLimit,
		Description: "Disk space each worker's mirror cache may take (everything under TASK_DIR_BASE/mirrors: one bare mirror of each repository its tasks used and, beside it, the spare checked-out working trees of tasks.workspaceSpares), e.g. 20g or 512m; every 5 minutes a worker over it removes the least recently used repositories, mirror and spares, until it fits, skipping any that a task is using or used in the last 30 minutes (its next task clones it again); 0 means no limit"},
	{Key: TasksWorkspaceSpares, Env: "WORKSPACE_SPARES", Type: TypeInt, Default: "2", Restart: true,
		Description: "Working trees each worker keeps checked out in advance per repository, so that this many tasks starting at once on it get their workspace by a rename instead of a checkout; those beyond it wait for the next spare, made one at a time (2 to 10 s each for 50,000 files); each spare is a full working tree on disk, counted in tasks.mirrorCacheBudget; 0 means none: every task checks out afresh"},
	{Key: WorkerConcurrency, Env: "WORKER_CONCURRENCY", Type: TypeInt, Default: "10", Startup: true,
		Description: "Agent runs one worker process holds at the same time; commands (stop, status, retry, help) have 2 slots of their own beside these, so they are answered while every slot runs an agent"},
	{Key: WorkerPollInterval, Env: "WORKER_POLL_INTERVAL", Type: TypeDuration, Default: "50ms", Startup: true,
		Description: "How often an idle worker asks Redis for new tasks; lower starts tasks sooner, higher loads Redis less"},
	{Key: QueueReconcileInterval, Env: "QUEUE_RECONCILE_INTERVAL", Type: TypeDuration, Default: "10s", Startup: true,
		Description: "How often the worker enqueues tasks that were stored while Redis was unreachable"},

	// Git.
	{Key: GitIncludeCoAuthoredBy, Env: "GIT_INCLUDE_CO_AUTHORED_BY", Type: TypeBool, Default: "true",
		Description: "End agent commits with a Co-authored-by: Sesame trailer"},

	// Users and sign-in.
	{Key: RegistrationAllowNewUsers, Env: "ALLOW_USER_REGISTRATION", Type: TypeBool, Default: "true",
		Description: "Let new people create accounts; turned off once the first admin exists"},
	{Key: RegistrationRequireEmailVerification, Env: "REQUIRE_EMAIL_VERIFICATION", Type: TypeBool, Default: "false",
		Description: "Make users confirm their email address, by a link sent by email, before they can sign in; accounts made while this was off are asked at their next sign-in. Without SMTP people can still sign up, and an admin confirms them on their page under Users"},
	{Key: OIDCEnabled, Env: "OIDC_ENABLED", Type: TypeBool, Default: "false",
		Description: "Offer sign-in through an OpenID Connect provider: a \"Sign in with\" button on the sign-in page"},
	{Key: OIDCProviderID, Env: "OIDC_PROVIDER_ID", Type: TypeString, Default: "oidc",
		Description: "Identifier of the OIDC provider, part of its callback URL: register BASE_URL/auth/oidc/{this id}/callback as the redirect URL at the provider. Changing it (or the issuer) means accounts are linked again by verified email"},
	{Key: OIDCProviderName, Env: "OIDC_PROVIDER_NAME", Type: TypeString, Default: "SSO",
		Description: "Provider name shown on the sign-in button"},
	{Key: OIDCClientID, Env: "OIDC_CLIENT_ID", Type: TypeString,
		Description: "OAuth client ID registered at the provider; ID tokens must name it as their audience"},
	{Key: OIDCClientSecret, Env: "OIDC_CLIENT_SECRET", Type: TypeString, Secret: true,
		Description: "OAuth client secret registered at the provider"},
	{Key: OIDCIssuer, Env: "OIDC_ISSUER", Type: TypeString,
		Format:      FormatURL,
		Description: "Issuer URL, required: the endpoints are discovered from it (/.well-known/openid-configuration), and every ID token is verified with the keys it publishes (jwks_uri) and must name it"},
	{Key: OIDCAuthorizationURL, Env: "OIDC_AUTHORIZATION_URL", Type: TypeString,
		Format:      FormatURL,
		Description: "Authorization endpoint used instead of the discovered one; the issuer is still needed to verify ID tokens"},
	{Key: OIDCTokenURL, Env: "OIDC_TOKEN_URL", Type: TypeString,
		Format:      FormatURL,
		Description: "Token endpoint used instead of the discovered one; the issuer is still needed to verify ID tokens"},
	{Key: OIDCUserInfoURL, Env: "OIDC_USERINFO_URL", Type: TypeString,
		Format:      FormatURL,
		Description: "Userinfo endpoint used instead of the discovered one; asked for the email and whether it is verified when the ID token lacks them"},
	{Key: OIDCScopes, Env: "OIDC_SCOPES", Type: TypeList, Default: "openid,profile,email",
		Description: "Scopes requested from the provider; openid is always requested, and email is needed to link or create accounts"},
	{Key: OIDCAllowSignUp, Env: "OIDC_ALLOW_SIGNUP", Type: TypeBool, Default: "true",
		Description: "Create an account (role user, no password) at the first OIDC sign-in of someone unknown whose email the provider verified; independent of ALLOW_USER_REGISTRATION"},
	{Key: GravatarEnabled, Env: "GRAVATAR_ENABLED", Type: TypeBool, Default: "true",
		Description: "Show Gravatar pictures for users without an avatar of their own"},

	// Mail.
	{Key: SMTPHost, Env: "SMTP_HOST", Type: TypeString,
		Description: "Mail server for address confirmations, password reset links and the admin's test email; empty: Sesame sends no email"},
	{Key: SMTPPort, Env: "SMTP_PORT", Type: TypeInt, Default: "587",
		Format:      FormatPort,
		Description: "Mail server port: usually 587 for STARTTLS, 465 for implicit TLS (SMTP_SECURE=true)"},
	{Key: SMTPSecure, Env: "SMTP_SECURE", Type: TypeBool, Default: "false",
		Description: "true: TLS from the first byte (implicit TLS, usually port 465). false: a plain connection upgraded with STARTTLS, which is then required (a server that does not offer it is refused) unless the server is on this machine (localhost). The certificate is always verified"},
	{Key: SMTPUser, Env: "SMTP_USER", Type: TypeString,
		Description: "User name for the mail server; empty sends without signing in"},
	{Key: SMTPPass, Env: "SMTP_PASS", Type: TypeString, Secret: true,
		Description: "Password for the mail server (never logged or shown)"},
	{Key: SMTPFrom, Env: "SMTP_FROM", Type: TypeString,
		Description: "Sender of outgoing mail, e.g. Sesame <noreply@example.com>; needed to send"},

	// Audit log.
	{Key: AuditEnabled, Env: "ENABLE_AUDIT_LOG", Type: TypeBool, Default: "true",
		Description: "Record sign-ins, credential changes, tasks and admin actions"},
	{Key: AuditRetentionDays, Env: "AUDIT_RETENTION_DAYS", Type: TypeInt, Default: "90",
		Description: "Days audit entries are kept; 0 keeps them forever"},
}

// byKey indexes registry by key.
var byKey = func() map[string]Setting {
	m := make(map[string]Setting, len(registry))
	for _, s := range registry {
		m[s.Key] = s
	}
	return m
}()

// Settings returns a copy of every setting, grouped by the first part of the
// key, in a stable order.
func Settings() []Setting {
	out := make([]Setting, len(registry))
	for i, s := range registry {
		out[i] = s.clone()
	}
	return out
}

// Lookup returns the setting with the given key.
func Lookup(key string) (Setting, bool) {
	s, ok := byKey[key]
	if !ok {
		return Setting{}, false
	}
	return s.clone(), true
}

func (s Setting) clone() Setting {
	s.Aliases = slices.Clone(s.Aliases)
	s.Choices = slices.Clone(s.Choices)
	return s
}

// mustSetting returns the setting for key and panics, naming the caller's
// mistake, when there is none or it is not of type t.
func mustSetting(key string, t Type) Setting {
	s, ok := byKey[key]
	if !ok {
		panic("config: unknown setting " + key)
	}
	if s.Type != t {
		panic("config: setting " + key + " is of type " + string(s.Type) + ", not " + string(t))
	}
	return s
}
