package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	sesame "github.com/sesame-works/sesame"
)

// Sealer encrypts and opens secrets kept at rest (sealed.Box with ENCRYPTION_KEY).
type Sealer interface {
	Seal(plaintext, associatedData []byte) ([]byte, error)
	Open(sealed, associatedData []byte) ([]byte, error)
}

// UserCredentials implements sesame.UserCredentials: users' own agent credentials, sealed.
type UserCredentials struct {
	db     *DB
	sealer Sealer
}

var _ sesame.UserCredentials = (*UserCredentials)(nil)

// NewUserCredentials returns the users' credentials kept in db, sealed with sealer.
func NewUserCredentials(db *DB, sealer Sealer) *UserCredentials {
	return &UserCredentials{db: db, sealer: sealer}
}

// credentialAD binds a sealed credential to its user and kind: a sealed value copied to another
// user's row or to another kind does not open.
func credentialAD(userID, kind string) []byte {
	return []byte("sesame:user:" + userID + ":credential:" + kind)
}

func unknownKind() error {
	return sesame.Errorf(sesame.EINVALID, "There is no such kind of credential.")
}

// PutCredential stores (replaces) the user's credential of kind, sealed, and tells whether it is new.
func (s *UserCredentials) PutCredential(ctx context.Context, userID, kind, value string) (bool, error) {
	k, ok := sesame.CredentialKindNamed(kind)
	if !ok {
		return false, unknownKind()
	}
	v, err := k.Clean(value)
	if err != nil {
		return false, err
	}
	id, err := uuid.Parse(userID)
	if err != nil {
		return false, errUserNotFound()
	}
	sealed, err := s.sealer.Seal([]byte(v), credentialAD(id.String(), kind))
	if err != nil {
		return false, fmt.Errorf("seal %s: %w", kind, err)
	}
	var created bool
	err = s.db.Pool.QueryRow(ctx, `INSERT INTO user_credentials (user_id, kind, sealed, hint) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, kind) DO UPDATE SET sealed = $3, hint = $4, updated_at = now()
		RETURNING xmax = 0`, id, kind, sealed, k.Hint(v)).Scan(&created)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" { // foreign_key_violation: no such user
		return false, errUserNotFound()
	}
	return created, wrapErr("put credential", err)
}

// Credentials lists the user's credentials in the order of sesame.CredentialKinds, without values.
// Rows of kinds no longer known are left out.
func (s *UserCredentials) Credentials(ctx context.Context, userID string) ([]sesame.UserCredential, error) {
	id, err := uuid.Parse(userID)
	if err != nil {
		return nil, nil
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT kind, hint, created_at, updated_at FROM user_credentials WHERE user_id = $1`, id)
	if err != nil {
		return nil, wrapErr("list credentials", err)
	}
	defer rows.Close()
	byKind := map[string]sesame.UserCredential{}
	for rows.Next() {
		var c sesame.UserCredential
		if err := rows.Scan(&c.Kind, &c.Hint, &c.CreatedAt, &c.UpdatedAt); err != nil {
			return nil, wrapErr("scan credential", err)
		}
		byKind[c.Kind] = c
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list credentials", err)
	}
	var out []sesame.UserCredential
	for _, k := range sesame.CredentialKinds {
		if c, ok := byKind[k.Name]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// DeleteCredential removes the user's credential of kind and tells whether there was one.
func (s *UserCredentials) DeleteCredential(ctx context.Context, userID, kind string) (bool, error) {
	if _, ok := sesame.CredentialKindNamed(kind); !ok {
		return false, unknownKind()
	}
	id, err := uuid.Parse(userID)
	if err != nil {
		return false, nil
	}
	tag, err := s.db.Pool.Exec(ctx, `DELETE FROM user_credentials WHERE user_id = $1 AND kind = $2`, id, kind)
	if err != nil {
		return false, wrapErr("delete credential", err)
	}
	return tag.RowsAffected() > 0, nil
}

// AgentCredentials returns, by environment variable, the opened values of the user's credentials
// that agentName is given. For OpenCode that includes OPENAI_API_KEY, which it falls back to when
// OPENCODE_API_KEY is missing.
func (s *UserCredentials) AgentCredentials(ctx context.Context, userID, agentName string) (map[string]string, error) {
	out := map[string]string{}
	id, err := uuid.Parse(userID)
	if err != nil { // no user (a task from GitHub or Slack without an account): nothing of theirs
		return out, nil
	}
	var kinds []string
	for _, k := range sesame.CredentialKinds {
		if k.UsedBy(agentName) {
			kinds = append(kinds, k.Name)
		}
	}
	if len(kinds) == 0 {
		return out, nil
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT kind, sealed FROM user_credentials WHERE user_id = $1 AND kind = ANY($2)`, id, kinds)
	if err != nil {
		return nil, wrapErr("select agent credentials", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var sealed []byte
		if err := rows.Scan(&kind, &sealed); err != nil {
			return nil, wrapErr("scan agent credential", err)
		}
		k, _ := sesame.CredentialKindNamed(kind)
		plain, err := s.sealer.Open(sealed, credentialAD(id.String(), kind))
		if err != nil {
			return nil, &sesame.Error{Code: sesame.EINVALID, Message: fmt.Sprintf(
				"Your saved %s cannot be opened with this server's ENCRYPTION_KEY; save it again in your settings.", k.Title)}
		}
		out[k.Env] = string(plain)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("select agent credentials", err)
	}
	return out, nil
}
