package sesame

import (
	"context"
	"time"
)

// AuditAction names what an audit event records. The names are the values of the export API's
// action filter, so they never change once shipped.
type AuditAction string

// Authentication.
const (
	AuditSignIn         AuditAction = "user_login"
	AuditSignOut        AuditAction = "user_logout"
	AuditSignInFailed   AuditAction = "user_login_failed"
	AuditRegistered     AuditAction = "user_registered"
	AuditSessionCreated AuditAction = "session_created"
	AuditSessionExpired AuditAction = "session_expired"
	// AuditIdentityLinked: an account at an OIDC provider was linked to a user by verified email.
	AuditIdentityLinked AuditAction = "identity_linked"
)

// Credentials: shared API keys, a user's agent credentials, a user's GitHub personal access token.
const (
	AuditAPIKeyCreated          AuditAction = "api_key_created"
	AuditAPIKeyUpdated          AuditAction = "api_key_updated"
	AuditAPIKeyDeleted          AuditAction = "api_key_deleted"
	AuditAgentCredentialCreated AuditAction = "agent_credential_created"
	AuditAgentCredentialUpdated AuditAction = "agent_credential_updated"
	AuditAgentCredentialDeleted AuditAction = "agent_credential_deleted"
	AuditPATCreated             AuditAction = "pat_created"
	AuditPATUpdated             AuditAction = "pat_updated"
	AuditPATDeleted             AuditAction = "pat_deleted"
	AuditSlackLinked            AuditAction = "slack_linked"
)

// Tasks.
const (
	AuditTaskCreated   AuditAction = "task_created"
	AuditTaskStarted   AuditAction = "task_started"
	AuditTaskCompleted AuditAction = "task_completed"
	AuditTaskFailed    AuditAction = "task_failed"
	AuditTaskStopped   AuditAction = "task_stopped"
	AuditTaskDeleted   AuditAction = "task_deleted"
)

// Admin actions.
const (
	AuditSettingsChanged      AuditAction = "settings_changed"
	AuditSandboxPolicyChanged AuditAction = "sandbox_policy_changed"
	AuditRoleChanged          AuditAction = "user_role_changed"
	AuditUserBanned           AuditAction = "user_banned"
	AuditUserUnbanned         AuditAction = "user_unbanned"
	AuditUserDeleted          AuditAction = "user_deleted"
	AuditRegistrationChanged  AuditAction = "registration_changed"
	AuditUserBudgetChanged    AuditAction = "user_budget_changed"
	AuditGitHubAppCreated     AuditAction = "github_app_created"
)

// AuditActions lists every action, grouped as the audit page's filter shows them.
var AuditActions = []AuditAction{
	AuditSignIn, AuditSignOut, AuditSignInFailed, AuditRegistered, AuditSessionCreated, AuditSessionExpired, AuditIdentityLinked,
	AuditAPIKeyCreated, AuditAPIKeyUpdated, AuditAPIKeyDeleted,
	AuditAgentCredentialCreated, AuditAgentCredentialUpdated, AuditAgentCredentialDeleted,
	AuditPATCreated, AuditPATUpdated, AuditPATDeleted, AuditSlackLinked,
	AuditTaskCreated, AuditTaskStarted, AuditTaskCompleted, AuditTaskFailed, AuditTaskStopped, AuditTaskDeleted,
	AuditSettingsChanged, AuditSandboxPolicyChanged, AuditRoleChanged, AuditUserBanned, AuditUserUnbanned,
	AuditUserDeleted, AuditRegistrationChanged, AuditUserBudgetChanged, AuditGitHubAppCreated,
	AuditEmailSent, AuditEmailVerified, AuditPasswordReset, AuditTestEmail, // email.go
}

// Resource types an audit event is about.
const (
	ResourceUser     = "user"
	ResourceSession  = "session"
	ResourceTask     = "task"
	ResourceSetting  = "setting"
	ResourceAPIKey   = "api_key"
	ResourceAgentKey = "agent_credential"
	ResourcePAT      = "pat"
)

// ResourceTypes lists every resource type, for the audit page's filter.
var ResourceTypes = []string{ResourceUser, ResourceSession, ResourceTask, ResourceSetting, ResourceAPIKey, ResourceAgentKey, ResourcePAT}

// ActorSystem is the actor of events nobody did by hand (a session expiring, a worker starting a task).
const ActorSystem = "system"

// AuditEvent is one row of the audit log.
type AuditEvent struct {
	ID           int64
	At           time.Time
	ActorID      string // a user id, or ActorSystem
	ActorEmail   string // the actor's email when the event was written ("" for system)
	Action       AuditAction
	ResourceType string
	ResourceID   string
	IP           string
	UserAgent    string
	// Payload is what else there is to say; sensitive fields are redacted before it is stored.
	Payload map[string]any
}

// AuditFilter selects audit events. Zero fields select everything.
type AuditFilter struct {
	Action       AuditAction
	ResourceType string
	UserID       string    // the actor
	Start        time.Time // inclusive
	End          time.Time // exclusive
	// Before pages backwards: only events with an ID lower than it (0: from the newest).
	Before int64
	// After selects only events with an ID higher than it (the live tail). Alone (Before 0), it
	// selects the Limit events just above it, still returned newest first: a tail that asks again
	// from the highest ID it got misses none when more than a page arrived.
	After int64
	Limit int // 0: the store's default page size
}

// AuditLog is where audit events are written. Writing never fails the action it records: Record
// logs its own errors, and does nothing when the audit log is turned off.
type AuditLog interface {
	Record(ctx context.Context, e AuditEvent)
}

// AuditStore reads and writes the audit log.
type AuditStore interface {
	AuditLog
	// AuditEvents returns a page of events matching f, newest first.
	AuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// AuditEvent returns one event, or ENOTFOUND.
	AuditEvent(ctx context.Context, id int64) (*AuditEvent, error)
	// ExportAudit calls fn with every event matching f (Before, After and Limit ignored), newest
	// first, reading them in batches: memory stays constant whatever the number of rows.
	ExportAudit(ctx context.Context, f AuditFilter, fn func(AuditEvent) error) error
	// PruneAudit deletes events older than the retention period and returns how many went.
	PruneAudit(ctx context.Context) (int64, error)
}
