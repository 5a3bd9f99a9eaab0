package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	sesame "github.com/sesame-works/sesame"
)

var _ sesame.SlackLinks = (*SlackLinks)(nil)

// SlackLinks keeps the Sesame accounts Slack members linked with a one-time link.
type SlackLinks struct {
	db    *DB
	users *UserStore
}

// NewSlackLinks returns the links kept in db.
func NewSlackLinks(db *DB) *SlackLinks { return &SlackLinks{db: db, users: NewUserStore(db)} }

// SlackLinkedUser returns the Sesame user the member linked to; ENOTFOUND when none.
func (s *SlackLinks) SlackLinkedUser(ctx context.Context, teamID, slackUser string) (*sesame.User, error) {
	var id string
	err := s.db.Pool.QueryRow(ctx, `SELECT user_id::text FROM slack_links WHERE team_id = $1 AND slack_user = $2`,
		teamID, slackUser).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, sesame.Errorf(sesame.ENOTFOUND, "This Slack member is not linked to a Sesame account.")
	} else if err != nil {
		return nil, wrapErr("select slack link", err)
	}
	return s.users.User(ctx, id)
}

// NewSlackLink makes a one-time link token for the member; earlier unused tokens of theirs stay
// good until they expire. Expired tokens of anyone are deleted on the way.
func (s *SlackLinks) NewSlackLink(ctx context.Context, teamID, slackUser, slackName string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	if _, err := s.db.Pool.Exec(ctx, `DELETE FROM slack_link_tokens WHERE expires_at < now()`); err != nil {
		return "", wrapErr("delete expired slack links", err)
	}
	_, err := s.db.Pool.Exec(ctx, `INSERT INTO slack_link_tokens (token_hash, team_id, slack_user, slack_name, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, tokenHash(token), teamID, slackUser, slackName, time.Now().Add(sesame.SlackLinkTTL))
	return token, wrapErr("insert slack link", err)
}

// SlackLink returns the pending link of token; ENOTFOUND when unknown, used or expired.
func (s *SlackLinks) SlackLink(ctx context.Context, token string) (*sesame.SlackLinkRequest, error) {
	var l sesame.SlackLinkRequest
	err := s.db.Pool.QueryRow(ctx, `SELECT team_id, slack_user, slack_name, expires_at FROM slack_link_tokens
		WHERE token_hash = $1 AND expires_at > now()`, tokenHash(token)).Scan(&l.TeamID, &l.SlackUser, &l.SlackName, &l.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errLinkGone()
	}
	return &l, wrapErr("select slack link", err)
}

// ConsumeSlackLink links the member of token to userID and deletes the token, in one transaction;
// ENOTFOUND when it is unknown, used or expired (two concurrent uses: one wins).
func (s *SlackLinks) ConsumeSlackLink(ctx context.Context, token, userID string) (*sesame.SlackLinkRequest, error) {
	var l sesame.SlackLinkRequest
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM slack_link_tokens WHERE token_hash = $1 AND expires_at > now()
			RETURNING team_id, slack_user, slack_name, expires_at`, tokenHash(token)).Scan(&l.TeamID, &l.SlackUser, &l.SlackName, &l.ExpiresAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return errLinkGone()
		} else if err != nil {
			return wrapErr("take slack link", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO slack_links (team_id, slack_user, user_id) VALUES ($1, $2, $3)
			ON CONFLICT (team_id, slack_user) DO UPDATE SET user_id = $3, linked_at = now()`, l.TeamID, l.SlackUser, userID)
		return wrapErr("save slack link", err)
	})
	if err != nil {
		return nil, err
	}
	l.LinkedUser = userID
	return &l, nil
}

func errLinkGone() error {
	return sesame.Errorf(sesame.ENOTFOUND, "This link is unknown, was used already or has expired. Run /sesame in Slack again for a new one.")
}

func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
