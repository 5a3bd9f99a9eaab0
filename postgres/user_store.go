package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	sesame "github.com/sesame-works/sesame"
)

// UserStore implements sesame.UserStore.
type UserStore struct {
	db *DB
}

var _ sesame.UserStore = (*UserStore)(nil)

// NewUserStore returns a store of users in db.
func NewUserStore(db *DB) *UserStore { return &UserStore{db: db} }

// usersLockKey is the transaction-level advisory lock that creating users takes: exclusively to create
// the first admin, shared to create any other user. So "no user exists yet" stays true until the
// first admin's transaction commits, and two setups racing make one admin. ("SESAMEUS" in ASCII; goose
// uses a different key.)
const usersLockKey int64 = 0x5345_5341_4d45_5553

// allowNewUsersKey is config.RegistrationAllowNewUsers, which the first admin's setup turns off.
const allowNewUsersKey = "registration.allowNewUsers"

const userColumns = `id, email, name, role, banned, password_hash, github_login, github_token_last4, created_at,
	email_verified_at`

const insertUserSQL = `INSERT INTO users (id, email, name, role, password_hash, email_verified_at)
	VALUES ($1, $2, $3, $4, $5, $6)
	RETURNING ` + userColumns

// CountUsers returns how many users exist.
func (s *UserStore) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, wrapErr("count users", err)
	}
	return n, nil
}

// CreateFirstAdmin creates u as an admin when no user exists yet, and closes registration, in one
// transaction.
func (s *UserStore) CreateFirstAdmin(ctx context.Context, u sesame.User) (*sesame.User, error) {
	u.Role = sesame.RoleAdmin
	if u.EmailVerifiedAt.IsZero() {
		u.EmailVerifiedAt = time.Now() // no one else could confirm the first admin's address
	}
	id, err := prepareUser(&u)
	if err != nil {
		return nil, err
	}
	var created *sesame.User
	err = pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, usersLockKey); err != nil {
			return wrapErr("lock users", err)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
			return wrapErr("count users", err)
		} else if n > 0 {
			return sesame.Errorf(sesame.ECONFLICT, "Sesame is already set up.")
		}
		admin, err := insertUser(ctx, tx, id, u)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, saveSettingSQL, allowNewUsersKey, "false", admin.Email); err != nil {
			return wrapErr("close registration", err)
		}
		created = admin
		return nil
	})
	if err != nil {
		return nil, coded("create first admin", err)
	}
	return created, nil
}

// CreateUser creates u with the role it has ("" is RoleUser).
func (s *UserStore) CreateUser(ctx context.Context, u sesame.User) (*sesame.User, error) {
	return s.createUser(ctx, u, "create user", nil)
}

// createUser creates u ("" role is RoleUser) and, when then is set, does then with the new user in
// the same transaction. It takes the users' lock shared: the first admin's setup takes it exclusively.
func (s *UserStore) createUser(ctx context.Context, u sesame.User, op string, then func(pgx.Tx, *sesame.User) error) (*sesame.User, error) {
	if u.Role == "" {
		u.Role = sesame.RoleUser
	}
	id, err := prepareUser(&u)
	if err != nil {
		return nil, err
	}
	var created *sesame.User
	err = pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, usersLockKey); err != nil {
			return wrapErr("lock users", err)
		}
		user, err := insertUser(ctx, tx, id, u)
		if err != nil {
			return err
		}
		created = user
		if then != nil {
			return then(tx, user)
		}
		return nil
	})
	if err != nil {
		return nil, coded(op, err)
	}
	return created, nil
}

// prepareUser checks u and puts its email in the stored form, and returns a new id for it.
func prepareUser(u *sesame.User) (uuid.UUID, error) {
	u.Email = normalizeEmail(u.Email)
	if u.Email == "" {
		return uuid.UUID{}, sesame.Errorf(sesame.EINVALID, "A user needs an email address.")
	}
	if u.Role != sesame.RoleAdmin && u.Role != sesame.RoleUser {
		return uuid.UUID{}, sesame.Errorf(sesame.EINVALID, "Unknown role %q.", u.Role)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.UUID{}, fmt.Errorf("new user id: %w", err)
	}
	return id, nil
}

func insertUser(ctx context.Context, tx pgx.Tx, id uuid.UUID, u sesame.User) (*sesame.User, error) {
	rows, _ := tx.Query(ctx, insertUserSQL, id, u.Email, u.Name, u.Role, u.PasswordHash, nullTime(u.EmailVerifiedAt))
	created, err := pgx.CollectExactlyOneRow(rows, scanUser)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation: users_email_idx
		return nil, fmt.Errorf("insert user: %w (%w)", err,
			sesame.Errorf(sesame.ECONFLICT, "A user with this email already exists."))
	} else if err != nil {
		return nil, wrapErr("insert user", err)
	}
	return created, nil
}

// normalizeEmail is the stored form of an email address: trimmed and lower-cased.
func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// User returns the user with id.
func (s *UserStore) User(ctx context.Context, id string) (*sesame.User, error) {
	if uuid.Validate(id) != nil {
		return nil, errUserNotFound()
	}
	return s.userBy(ctx, `id = $1`, id)
}

// UserByEmail returns the user with email, in any case.
func (s *UserStore) UserByEmail(ctx context.Context, email string) (*sesame.User, error) {
	return s.userBy(ctx, `lower(email) = $1`, normalizeEmail(email))
}

func (s *UserStore) userBy(ctx context.Context, where string, arg any) (*sesame.User, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT `+userColumns+` FROM users WHERE `+where, arg)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errUserNotFound()
	} else if err != nil {
		return nil, wrapErr("select user", err)
	}
	return u, nil
}

// SetGitHubToken stores the user's sealed GitHub token, replacing any other.
func (s *UserStore) SetGitHubToken(ctx context.Context, userID string, tok sesame.GitHubToken) error {
	if len(tok.Sealed) == 0 || tok.Login == "" {
		return sesame.Errorf(sesame.EINVALID, "A GitHub token needs its login and its sealed value.")
	}
	return s.update(ctx, "set github token", `github_login = $2, github_token_sealed = $3, github_token_last4 = $4`,
		userID, tok.Login, tok.Sealed, tok.Last4)
}

// DeleteGitHubToken removes the user's GitHub token, if any.
func (s *UserStore) DeleteGitHubToken(ctx context.Context, userID string) error {
	return s.update(ctx, "delete github token",
		`github_login = '', github_token_sealed = NULL, github_token_last4 = ''`, userID)
}

// update sets columns of the user with id ($1; args are $2 on) and fails with ENOTFOUND when there is
// no such user.
func (s *UserStore) update(ctx context.Context, op, set, id string, args ...any) error {
	if uuid.Validate(id) != nil {
		return errUserNotFound()
	}
	tag, err := s.db.Pool.Exec(ctx, `UPDATE users SET `+set+`, updated_at = now() WHERE id = $1`,
		append([]any{id}, args...)...)
	if err != nil {
		return wrapErr(op, err)
	} else if tag.RowsAffected() == 0 {
		return errUserNotFound()
	}
	return nil
}

// GitHubToken returns the user's stored GitHub token.
func (s *UserStore) GitHubToken(ctx context.Context, userID string) (sesame.GitHubToken, error) {
	var tok sesame.GitHubToken
	if uuid.Validate(userID) != nil {
		return tok, errUserNotFound()
	}
	err := s.db.Pool.QueryRow(ctx, `SELECT github_login, github_token_sealed, github_token_last4 FROM users
		WHERE id = $1 AND github_token_sealed IS NOT NULL`, userID).Scan(&tok.Login, &tok.Sealed, &tok.Last4)
	if errors.Is(err, pgx.ErrNoRows) {
		return tok, sesame.Errorf(sesame.ENOTFOUND, "No GitHub token is connected.")
	} else if err != nil {
		return tok, wrapErr("select github token", err)
	}
	return tok, nil
}

// CommitLogin returns the GitHub login a task's commits are attributed to. Only users who are not
// banned and have a token connected count; when several connected the same login, the oldest does.
func (s *UserStore) CommitLogin(ctx context.Context, userID, githubLogin string) (string, error) {
	if uuid.Validate(userID) == nil {
		login, err := s.connectedLogin(ctx, `id = $1`, userID)
		if login != "" || err != nil {
			return login, err
		}
	}
	if githubLogin == "" {
		return "", nil
	}
	return s.connectedLogin(ctx, `lower(github_login) = lower($1)`, githubLogin)
}

// connectedLogin returns the GitHub login of the first user matching where (with arg as $1) that has
// a token connected and is not banned, or "" when none does.
func (s *UserStore) connectedLogin(ctx context.Context, where string, arg string) (string, error) {
	var login string
	err := s.db.Pool.QueryRow(ctx, `SELECT github_login FROM users
		WHERE `+where+` AND github_token_sealed IS NOT NULL AND NOT banned
		ORDER BY created_at, id LIMIT 1`, arg).Scan(&login)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", wrapErr("select commit login", err)
	}
	return login, nil
}

func errUserNotFound() error { return sesame.Errorf(sesame.ENOTFOUND, "User not found.") }

func scanUser(row pgx.CollectableRow) (*sesame.User, error) {
	var u sesame.User
	var id uuid.UUID
	if err := row.Scan(userFields(&u, &id)...); err != nil {
		return nil, err
	}
	u.ID = id.String()
	return &u, nil
}

// userFields are where the columns of userColumns are scanned to; the id goes to id.
func userFields(u *sesame.User, id *uuid.UUID) []any {
	return []any{id, &u.Email, &u.Name, &u.Role, &u.Banned, &u.PasswordHash, &u.GitHubLogin,
		&u.GitHubTokenLast4, &u.CreatedAt, nullableTime{&u.EmailVerifiedAt}}
}
