package config

// Keys of every setting. A key is also the setting's path in the config file.
const (
	// Server and start-up.
	ServerBaseURL = "server.baseUrl"
	ServerListen  = "server.listen"
	AuthSecret    = "auth.secret"
	EncryptionKey = "encryption.key"
	DatabaseURL   = "database.url"
	RedisURL      = "redis.url"
	LogLevel      = "log.level"
	LogFormat     = "log.format"

	// Reverse proxies whose X-Forwarded-For the web app believes.
	ServerTrustedProxies = "server.trustedProxies"

	// Prometheus metrics (/metrics).
	MetricsToken  = "metrics.token"
	MetricsListen = "metrics.listen"

	// GitHub App.
	GitHubAppID          = "github.appId"
	GitHubPrivateKey     = "github.privateKey"
	GitHubPrivateKeyPath = "github.privateKeyPath"
	GitHubWebhookSecret  = "github.webhookSecret"
	GitHubAPIURL         = "github.apiUrl"

	// Slack app.
	SlackSigningSecret = "slack.signingSecret"
	SlackBotToken      = "slack.botToken"
	SlackAPIURL        = "slack.apiUrl"

	// Model for utility tasks (branch names, commit messages, titles).
	AIAPIKey  = "ai.apiKey"
	AIBaseURL = "ai.baseUrl"
	AIModel   = "ai.model"

	// Shared agent credentials.
	AgentsAnthropicAPIKey      = "agents.anthropicApiKey"
	AgentsAnthropicBaseURL     = "agents.anthropicBaseUrl"
	AgentsClaudeCodeOAuthToken = "agents.claudeCodeOauthToken"
	AgentsOpenAIAPIKey         = "agents.openaiApiKey"
	AgentsOpenAIBaseURL        = "agents.openaiBaseUrl"
	AgentsGeminiAPIKey         = "agents.geminiApiKey"
	AgentsGeminiBaseURL        = "agents.geminiBaseUrl"
	AgentsCopilotGitHubToken   = "agents.copilotGithubToken"
	AgentsCopilotProviderKey   = "agents.copilotProviderApiKey"
	AgentsCopilotProviderURL   = "agents.copilotProviderBaseUrl"
	AgentsCopilotProviderType  = "agents.copilotProviderType"
	AgentsOpenCodeAPIKey       = "agents.opencodeApiKey"
	AgentsOpenCodeBaseURL      = "agents.opencodeBaseUrl"

	// Sandboxes and tasks.
	SandboxProvider             = "sandbox.provider"
	SandboxDockerImage          = "sandbox.docker.image"
	SandboxDockerCPUs           = "sandbox.docker.cpus"
	SandboxDockerMemory         = "sandbox.docker.memory"
	SandboxDockerPIDs           = "sandbox.docker.pids"
	SandboxSecurityEnabled      = "sandbox.security.enabled"
	SandboxSecurityAllowDisable = "sandbox.security.allowDisable"
	SandboxAllowedDomains       = "sandbox.allowedDomains"
	SandboxDeniedDomains        = "sandbox.deniedDomains"
	TasksBaseDirectory          = "tasks.baseDirectory"
	TasksMaxDuration            = "tasks.maxDuration"
	TasksCostBudget             = "tasks.costBudget"
	TasksMaxCostBudget          = "tasks.maxCostBudget"
	TasksUserMonthlyBudget      = "tasks.userMonthlyBudget"
	TasksModelPrices            = "tasks.modelPrices"
	TasksInstallRuntimes        = "tasks.installRuntimes"
	TasksMirrorCacheBudget      = "tasks.mirrorCacheBudget"
	TasksWorkspaceSpares        = "tasks.workspaceSpares"
	WorkerConcurrency           = "worker.concurrency"
	WorkerPollInterval          = "worker.pollInterval"
	AgentsInstallDir            = "agents.installDir"
	QueueReconcileInterval      = "queue.reconcileInterval"

	// Git.
	GitIncludeCoAuthoredBy = "git.includeCoAuthoredBy"

	// Users and sign-in.
	RegistrationAllowNewUsers            = "registration.allowNewUsers"
	RegistrationRequireEmailVerification = "registration.requireEmailVerification"
	OIDCEnabled                          = "oidc.enabled"
	OIDCProviderID                       = "oidc.providerId"
	OIDCProviderName                     = "oidc.providerName"
	OIDCClientID                         = "oidc.clientId"
	OIDCClientSecret                     = "oidc.clientSecret"
	OIDCIssuer                           = "oidc.issuer"
	OIDCAuthorizationURL                 = "oidc.authorizationUrl"
	OIDCTokenURL                         = "oidc.tokenUrl"
	OIDCUserInfoURL                      = "oidc.userInfoUrl"
	OIDCScopes                           = "oidc.scopes"
	OIDCAllowSignUp                      = "oidc.allowSignUp"
	GravatarEnabled                      = "gravatar.enabled"

	// Mail.
	SMTPHost   = "smtp.host"
	SMTPPort   = "smtp.port"
	SMTPSecure = "smtp.secure"
	SMTPUser   = "smtp.user"
	SMTPPass   = "smtp.pass"
	SMTPFrom   = "smtp.from"

	// Audit log.
	AuditEnabled       = "audit.enabled"
	AuditRetentionDays = "audit.retentionDays"
)
