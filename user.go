package sesame

import (
	"context"
	"time"
)

// Role is what a user of the web app may do.
type Role string

const (
	RoleAdmin Role = "admin" // everything, including the admin section
	RoleUser  Role = "user"  // start tasks and see their own
)

// User is a person who signs in to Sesame's web app.
type User struct {
	ID           string
	Email        string // stored lower-case; unique
	Name         string
	Role         Role
	Banned       bool
	PasswordHash string // encoded hash (argon2id), never shown
	// GitHubLogin is the GitHub identity of the personal access token the user connected ("" when
	// none); their tasks' commits are attributed to it.
	GitHubLogin string
	// GitHubTokenLast4 is the last four characters of that token, the only part ever shown.
	GitHubTokenLast4 string
	CreatedAt        time.Time
	// EmailVerifiedAt is when the user confirmed their address (a link sent by email, an admin, or
	// an OIDC provider that vouched for it); zero while it is not confirmed. Users created before
	// email confirmation existed count as confirmed.
	EmailVerifiedAt time.Time
}

// GitHubToken is a user's GitHub personal access token as stored: sealed (encrypted) by the caller.
type GitHubToken struct {
	Login  string // the GitHub user the token belongs to
	Sealed []byte // the token, encrypted with ENCRYPTION_KEY
	Last4  string // its last four characters, shown in the web app
}

// UserSummary is a user as the admin section lists them.
type UserSummary struct {
	User
	LastSignInAt time.Time // their latest sign-in; zero when they never signed in
	TaskCount    int       // tasks they started from the web app
}

// UserQuery selects a page of users, newest first (by creation, then id).
type UserQuery struct {
	// Search keeps users whose name or email holds it, in any case; "" keeps everyone. It is plain
	// text: % and _ match only themselves.
	Search string
	// After is the Next of the previous page; "" starts at the newest user.
	After string
	Limit int // at most this many; 0 = a default of 50, and never more than 200
}

// UserPage is one page of users.
type UserPage struct {
	Users []UserSummary
	// Next is the cursor of the page after this one (UserQuery.After); "" when this is the last.
	Next string
}

// UserSession is a web session of a user, tracked by the user store so that banning or deleting a
// user can end every session they have at once, and so that sessions ending can be audited.
type UserSession struct {
	ID string // a public id for the audit log; never the token
	// Token is the session's key in the session store: a MAC of the cookie's token, never the token
	// itself.
	Token     string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time // when the session ends at the latest, however active it stays
}

// UserStore keeps the web app's users.
//
// There is always at least one active admin (role admin, not banned) once the first admin exists:
// SetRole, SetBanned and DeleteUser refuse with ECONFLICT, changing nothing, what would leave none.
// They decide under a lock on the admins' rows, so two admins demoting each other at the same time
// cannot both succeed.
type UserStore interface {
	// CountUsers returns how many users exist.
	CountUsers(ctx context.Context) (int, error)
	// CreateFirstAdmin creates u as an admin if and only if no user exists yet, and in the same
	// transaction saves the admin setting registration.allowNewUsers = false. When a user already
	// exists it creates nothing and fails with ECONFLICT. The first admin's address counts as
	// confirmed (EmailVerifiedAt): no one else could confirm it.
	CreateFirstAdmin(ctx context.Context, u User) (*User, error)
	// CreateUser creates u (role and EmailVerifiedAt as given). ECONFLICT when the email is taken.
	CreateUser(ctx context.Context, u User) (*User, error)
	// User returns the user with id, or ENOTFOUND.
	User(ctx context.Context, id string) (*User, error)
	// UserByEmail returns the user with email (any case), or ENOTFOUND.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// SetBanned bans or unbans a user. Banning deletes every tracked session of the user from the
	// session store in the same transaction, so they are signed out at once. ENOTFOUND for an unknown
	// user; ECONFLICT when they are the last active admin.
	SetBanned(ctx context.Context, id string, banned bool) error
	// SetRole gives a user role. ENOTFOUND for an unknown user, EINVALID for an unknown role,
	// ECONFLICT when it would demote the last active admin.
	SetRole(ctx context.Context, id string, role Role) error
	// DeleteUser deletes a user with their GitHub token and every session they have (ended at once),
	// and returns the user as they were. Their tasks stay, attributed to nobody (Task.UserID "", the
	// requester kept). ENOTFOUND for an unknown user; ECONFLICT for the last active admin.
	DeleteUser(ctx context.Context, id string) (*User, error)
	// CountAdmins returns how many active admins (role admin, not banned) there are.
	CountAdmins(ctx context.Context) (int, error)
	// ListUsers returns a page of users with their last sign-in and task count. EINVALID when
	// q.After is not a cursor this store gave.
	ListUsers(ctx context.Context, q UserQuery) (*UserPage, error)
	// UserSummary returns the user with id as ListUsers shows them, or ENOTFOUND.
	UserSummary(ctx context.Context, id string) (*UserSummary, error)
	// QueuedTasks returns the ids of the user's tasks that are still queued, oldest first.
	QueuedTasks(ctx context.Context, userID string) ([]string, error)

	// RecordSignIn tracks a new session s of its user (s.ID is given here and the session returned)
	// and sets their last sign-in to s.CreatedAt, in one transaction. ENOTFOUND for an unknown user.
	RecordSignIn(ctx context.Context, s UserSession) (*UserSession, error)
	// ForgetSession stops tracking the session stored under token (its user signed out): it is not
	// reported as expired later. Forgetting an unknown session is not an error.
	ForgetSession(ctx context.Context, token string) error
	// CountSessions returns how many tracked sessions the user has that have not ended.
	CountSessions(ctx context.Context, userID string) (int, error)
	// EndExpiredSessions forgets up to limit tracked sessions that ended: past ExpiresAt, past their
	// expiry in the session store, or gone from it (signed out, banned, replaced at sign-in). Any row
	// of theirs left in the session store is deleted. It returns the sessions it forgot; concurrent
	// callers never return the same session.
	EndExpiredSessions(ctx context.Context, limit int) ([]UserSession, error)
	// SetGitHubToken stores (replaces) the user's sealed GitHub token.
	SetGitHubToken(ctx context.Context, userID string, tok GitHubToken) error
	// DeleteGitHubToken removes it; removing none is not an error.
	DeleteGitHubToken(ctx context.Context, userID string) error
	// GitHubToken returns the user's stored token, or ENOTFOUND when none is connected.
	GitHubToken(ctx context.Context, userID string) (GitHubToken, error)
	// CommitLogin returns the GitHub login a task's commits are attributed to: that of the user with
	// userID when they connected a token, else that of a user who connected a token as githubLogin
	// (a GitHub commenter who also uses Sesame); "" when neither.
	CommitLogin(ctx context.Context, userID, githubLogin string) (string, error)

	// UserByIdentity returns the user the identity id (provider, issuer and subject; Email is not
	// compared) belongs to, and records that it was used now. ENOTFOUND when it is nobody's.
	UserByIdentity(ctx context.Context, id Identity) (*User, error)
	// LinkIdentity records id as the user's, and marks their address confirmed when id.EmailVerified
	// and id.Email is it. Linking an identity to the user it already belongs to changes nothing else;
	// ECONFLICT when it belongs to another user, ENOTFOUND for an unknown user.
	LinkIdentity(ctx context.Context, userID string, id Identity) error
	// CreateUserWithIdentity creates u (role as given, "" is RoleUser) and records id as theirs, in
	// one transaction. ECONFLICT, creating nothing, when the email is taken or id is someone's.
	CreateUserWithIdentity(ctx context.Context, u User, id Identity) (*User, error)
}

// SettingStore keeps the settings saved in the admin section (the "admin" layer of the settings).
type SettingStore interface {
	// Settings returns every saved setting, keyed by setting key.
	Settings(ctx context.Context) (map[string]string, error)
	// SaveSetting saves one setting's value, by whom.
	SaveSetting(ctx context.Context, key, value, by string) error
}
