package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	sesame "github.com/sesame-works/sesame"
)

// Identities at OpenID Connect providers (migration 00013): the user_identities table.

// UserByIdentity returns the user id belongs to, and records that it was used now.
func (s *UserStore) UserByIdentity(ctx context.Context, id sesame.Identity) (*sesame.User, error) {
	rows, _ := s.db.Pool.Query(ctx, `WITH used AS (
		UPDATE user_identities SET last_used_at = now()
		WHERE provider = $1 AND issuer = $2 AND subject = $3 RETURNING user_id)
	SELECT `+userColumns+` FROM users WHERE id = (SELECT user_id FROM used)`, id.Provider, id.Issuer, id.Subject)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, sesame.Errorf(sesame.ENOTFOUND, "No user has this identity.")
	} else if err != nil {
		return nil, wrapErr("select user by identity", err)
	}
	return u, nil
}

// LinkIdentity records id as the user's.
func (s *UserStore) LinkIdentity(ctx context.Context, userID string, id sesame.Identity) error {
	if uuid.Validate(userID) != nil {
		return errUserNotFound()
	}
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		return linkIdentity(ctx, tx, userID, id)
	})
	return coded("link identity", err)
}

// CreateUserWithIdentity creates u and records id as theirs, in one transaction.
func (s *UserStore) CreateUserWithIdentity(ctx context.Context, u sesame.User, id sesame.Identity) (*sesame.User, error) {
	return s.createUser(ctx, u, "create user with identity", func(tx pgx.Tx, user *sesame.User) error {
		return linkIdentity(ctx, tx, user.ID, id)
	})
}

// linkIdentity inserts id as userID's within tx, or finds it already theirs.
func linkIdentity(ctx context.Context, tx pgx.Tx, userID string, id sesame.Identity) error {
	if id.Provider == "" || id.Issuer == "" || id.Subject == "" {
		return sesame.Errorf(sesame.EINVALID, "An identity needs a provider, an issuer and a subject.")
	}
	var owner string
	err := tx.QueryRow(ctx, `INSERT INTO user_identities (provider, issuer, subject, user_id, email)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (provider, issuer, subject) DO UPDATE SET last_used_at = now()
		RETURNING user_id::text`, id.Provider, id.Issuer, id.Subject, userID, normalizeEmail(id.Email)).Scan(&owner)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "23503": // foreign_key_violation: no such user
		return fmt.Errorf("insert identity: %w (%w)", err, errUserNotFound())
	case err != nil:
		return wrapErr("insert identity", err)
	case owner != userID:
		return sesame.Errorf(sesame.ECONFLICT, "This identity belongs to another user.")
	}
	if id.EmailVerified && id.Email != "" {
		// The provider vouched for the address: it counts as confirmed, as a link sent by email would.
		if _, err := tx.Exec(ctx, `UPDATE users SET email_verified_at = now(), updated_at = now()
			WHERE id = $1 AND email_verified_at IS NULL AND lower(email) = $2`, userID, normalizeEmail(id.Email)); err != nil {
			return wrapErr("confirm email", err)
		}
	}
	return nil
}
