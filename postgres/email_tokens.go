package postgres

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	sesame "github.com/sesame-works/sesame"
)

var _ sesame.EmailTokens = (*EmailTokens)(nil)

// emailTokenKept is how long a used or expired link is remembered after it expires, so that opening
// it says what became of it rather than that it never existed.
const emailTokenKept = 7 * 24 * time.Hour

// EmailTokens keeps the single-use links sent by email (migration 00014).
type EmailTokens struct {
	db *DB
}

// NewEmailTokens returns the links kept in db.
func NewEmailTokens(db *DB) *EmailTokens { return &EmailTokens{db: db} }

// NewEmailToken makes a token for purpose for the user, voiding their earlier unused ones of the
// same purpose. Links that expired long ago, anyone's, are forgotten on the way.
func (s *EmailTokens) NewEmailToken(ctx context.Context, userID string, purpose sesame.EmailPurpose) (string, error) {
	if uuid.Validate(userID) != nil {
		return "", errUserNotFound()
	}
	if purpose != sesame.EmailVerify && purpose != sesame.EmailPasswordReset {
		return "", sesame.Errorf(sesame.EINVALID, "Unknown purpose %q of an email link.", purpose)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM email_tokens WHERE expires_at < now() - make_interval(secs => $1)`,
			emailTokenKept.Seconds()); err != nil {
			return wrapErr("forget old email links", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL`,
			userID, purpose); err != nil {
			return wrapErr("void earlier email links", err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO email_tokens (token_hash, purpose, user_id, email, expires_at)
			SELECT $1, $2, id, lower(email), now() + make_interval(secs => $4) FROM users WHERE id = $3`,
			tokenHash(token), purpose, userID, purpose.TTL().Seconds())
		if err != nil {
			return wrapErr("insert email link", err)
		} else if tag.RowsAffected() == 0 {
			return errUserNotFound()
		}
		return nil
	})
	if err != nil {
		return "", coded("new email link", err)
	}
	return token, nil
}

// EmailToken returns what token of purpose is, used or not.
func (s *EmailTokens) EmailToken(ctx context.Context, token string, purpose sesame.EmailPurpose) (*sesame.EmailToken, error) {
	var t sesame.EmailToken
	var used *time.Time
	err := s.db.Pool.QueryRow(ctx, `SELECT purpose, user_id::text, email, created_at, expires_at, used_at
		FROM email_tokens WHERE token_hash = $1 AND purpose = $2`, tokenHash(token), purpose).
		Scan(&t.Purpose, &t.UserID, &t.Email, &t.CreatedAt, &t.ExpiresAt, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errEmailLinkUnknown()
	} else if err != nil {
		return nil, wrapErr("select email link", err)
	}
	if used != nil {
		t.UsedAt = *used
	}
	return &t, nil
}

// VerifyEmail uses a confirmation link and marks its user's address confirmed.
func (s *EmailTokens) VerifyEmail(ctx context.Context, token string) (*sesame.User, error) {
	var u *sesame.User
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		id, err := useEmailToken(ctx, tx, token, sesame.EmailVerify)
		if err != nil {
			return err
		}
		u, err = updateUser(ctx, tx, id, `email_verified_at = coalesce(email_verified_at, now())`)
		return err
	})
	if err != nil {
		return nil, coded("verify email", err)
	}
	return u, nil
}

// ResetPassword uses a reset link: new password, address confirmed, other reset links void, every
// session ended.
func (s *EmailTokens) ResetPassword(ctx context.Context, token, passwordHash string) (*sesame.User, error) {
	if passwordHash == "" {
		return nil, sesame.Errorf(sesame.EINVALID, "A new password is needed.")
	}
	var u *sesame.User
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		id, err := useEmailToken(ctx, tx, token, sesame.EmailPasswordReset)
		if err != nil {
			return err
		}
		if u, err = updateUser(ctx, tx, id, `password_hash = $2, email_verified_at = coalesce(email_verified_at, now())`,
			passwordHash); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL`,
			id, sesame.EmailPasswordReset); err != nil {
			return wrapErr("void other reset links", err)
		}
		if _, err := tx.Exec(ctx, endSessionsSQL, id); err != nil {
			return wrapErr("end sessions", err)
		}
		return nil
	})
	if err != nil {
		return nil, coded("reset password", err)
	}
	return u, nil
}

// SetEmailVerified marks the user's address confirmed by hand and returns the user as they were.
func (s *EmailTokens) SetEmailVerified(ctx context.Context, userID string) (*sesame.User, error) {
	if uuid.Validate(userID) != nil {
		return nil, errUserNotFound()
	}
	var before *sesame.User
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR NO KEY UPDATE`, userID)
		u, err := pgx.CollectExactlyOneRow(rows, scanUser)
		if errors.Is(err, pgx.ErrNoRows) {
			return errUserNotFound()
		} else if err != nil {
			return wrapErr("lock user", err)
		}
		before = u
		_, err = updateUser(ctx, tx, userID, `email_verified_at = coalesce(email_verified_at, now())`)
		return err
	})
	if err != nil {
		return nil, coded("set email verified", err)
	}
	return before, nil
}

// useEmailToken marks token of purpose used and returns its user's id. ENOTFOUND when there is no
// such token; ECONFLICT when it is used, expired, or for an address its user no longer has.
func useEmailToken(ctx context.Context, tx pgx.Tx, token string, purpose sesame.EmailPurpose) (string, error) {
	var id string
	err := tx.QueryRow(ctx, `UPDATE email_tokens t SET used_at = now()
		FROM users u
		WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > now()
			AND u.id = t.user_id AND lower(u.email) = t.email
		RETURNING t.user_id::text`, tokenHash(token), purpose).Scan(&id)
	if err == nil {
		return id, nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return "", wrapErr("use email link", err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM email_tokens WHERE token_hash = $1 AND purpose = $2)`,
		tokenHash(token), purpose).Scan(&exists); err != nil {
		return "", wrapErr("find email link", err)
	}
	if !exists {
		return "", errEmailLinkUnknown()
	}
	return "", sesame.Errorf(sesame.ECONFLICT, "This link was used already or has expired.")
}

// updateUser sets columns of the user with id ($1; args are $2 on) in tx and returns the user after.
func updateUser(ctx context.Context, tx pgx.Tx, id, set string, args ...any) (*sesame.User, error) {
	rows, _ := tx.Query(ctx, `UPDATE users SET `+set+`, updated_at = now() WHERE id = $1 RETURNING `+userColumns,
		append([]any{id}, args...)...)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errUserNotFound()
	} else if err != nil {
		return nil, wrapErr("update user", err)
	}
	return u, nil
}

func errEmailLinkUnknown() error {
	return sesame.Errorf(sesame.ENOTFOUND, "This link is not known: it may have been replaced by a newer one, or mistyped.")
}

// nullableTime scans a timestamp that may be NULL into a time.Time, zero for NULL.
type nullableTime struct{ t *time.Time }

func (n nullableTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n.t = time.Time{}
	case time.Time:
		*n.t = v
	default:
		return fmt.Errorf("scan %T into a time", src)
	}
	return nil
}

// nullTime is t for a query, NULL when it is zero.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
