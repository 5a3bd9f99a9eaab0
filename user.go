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
}

// GitHubToken is a user's GitHub personal access token as stored: sealed (encrypted) by the caller.
type GitHubToken struct {
	Login  string // the GitHub user the token belongs to
	Sealed []byte // the token, encrypted with ENCRYPTION_KEY
	Last4  string // its last four characters, shown in the web app
}

// UserStore keeps the web app's users.
type UserStore interface {
	// CountUsers returns how many users exist.
	CountUsers(ctx context.Context) (int, error)
	// CreateFirstAdmin creates u as an admin if and only if no user exists yet, and in the same
	// transaction saves the admin setting registration.allowNewUsers = false. When a user already
	// exists it creates nothing and fails with ECONFLICT.
	CreateFirstAdmin(ctx context.Context, u User) (*User, error)
	// CreateUser creates u (role as given). ECONFLICT when the email is taken.
	CreateUser(ctx context.Context, u User) (*User, error)
	// User returns the user with id, or ENOTFOUND.
	User(ctx context.Context, id string) (*User, error)
	// UserByEmail returns the user with email (any case), or ENOTFOUND.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// SetBanned bans or unbans a user.
	SetBanned(ctx context.Context, id string, banned bool) error
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
}

// SettingStore keeps the settings saved in the admin section (the "admin" layer of the settings).
type SettingStore interface {
	// Settings returns every saved setting, keyed by setting key.
	Settings(ctx context.Context) (map[string]string, error)
	// SaveSetting saves one setting's value, by whom.
	SaveSetting(ctx context.Context, key, value, by string) error
}
