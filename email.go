package sesame

import (
	"context"
	"time"
)

// EmailPurpose is what a link sent by email does.
type EmailPurpose string

const (
	// EmailVerify confirms that a user owns their address (REQUIRE_EMAIL_VERIFICATION).
	EmailVerify EmailPurpose = "verify"
	// EmailPasswordReset lets a user choose a new password.
	EmailPasswordReset EmailPurpose = "reset"
)

// How long a link sent by email stays good.
const (
	EmailVerifyTTL        = 24 * time.Hour
	EmailPasswordResetTTL = time.Hour
)

// TTL is how long a link for p stays good.
func (p EmailPurpose) TTL() time.Duration {
	if p == EmailPasswordReset {
		return EmailPasswordResetTTL
	}
	return EmailVerifyTTL
}

// EmailToken is a link sent by email as stored: never the token itself, only what it is for.
type EmailToken struct {
	Purpose   EmailPurpose
	UserID    string
	Email     string // the address it was sent to; a link for an address the user no longer has is void
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until it is used
}

// Usable reports whether the link can still be used at now.
func (t *EmailToken) Usable(now time.Time) bool { return t.UsedAt.IsZero() && now.Before(t.ExpiresAt) }

// EmailTokens keeps the single-use links Sesame sends by email (address confirmation, password
// reset) and what using one does. A token is 32 random bytes; only its SHA-256 is stored. A token
// works for its own purpose only, once, until it expires, and only while its user still has the
// address it was sent to. Used and expired tokens are kept a while, so that a link opened again
// says what became of it.
type EmailTokens interface {
	// NewEmailToken makes a token for purpose for the user with userID, good for purpose.TTL(), sent
	// to their current address. It voids the user's earlier unused tokens of the same purpose: only
	// the newest link works. ENOTFOUND for an unknown user.
	NewEmailToken(ctx context.Context, userID string, purpose EmailPurpose) (string, error)
	// EmailToken returns what token of purpose is, used or not; ENOTFOUND when there is none (never
	// made, voided by a newer one, or forgotten long after it expired).
	EmailToken(ctx context.Context, token string, purpose EmailPurpose) (*EmailToken, error)
	// VerifyEmail uses a token of EmailVerify and marks its user's address confirmed, in one
	// transaction, and returns the user. ENOTFOUND for an unknown token, ECONFLICT when it is used,
	// expired or for an address the user no longer has (two concurrent uses: one wins).
	VerifyEmail(ctx context.Context, token string) (*User, error)
	// ResetPassword uses a token of EmailPasswordReset: it sets the user's password hash, marks their
	// address confirmed (the link proved it), voids their other reset links and ends every session
	// they have, in one transaction, and returns the user. Errors as VerifyEmail.
	ResetPassword(ctx context.Context, token, passwordHash string) (*User, error)
	// SetEmailVerified marks the user's address confirmed by hand (an admin did), and returns the
	// user as they were. ENOTFOUND for an unknown user.
	SetEmailVerified(ctx context.Context, userID string) (*User, error)
}

// Audit actions of email.
const (
	// AuditEmailVerified: a user's address was confirmed, by their link or by an admin.
	AuditEmailVerified AuditAction = "email_verified"
	// AuditEmailSent: Sesame sent (or failed to send) a confirmation or reset link.
	AuditEmailSent AuditAction = "email_sent"
	// AuditPasswordReset: a user chose a new password with a reset link.
	AuditPasswordReset AuditAction = "password_reset"
	// AuditTestEmail: an admin sent the test email from the settings page.
	AuditTestEmail AuditAction = "test_email_sent"
)
