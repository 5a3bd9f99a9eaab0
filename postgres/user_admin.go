package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	sesame "github.com/sesame-works/sesame"
)

// What the admin section does to users: list them, change their role, ban and delete them, and the
// sessions tracked so that a ban ends them at once.

const (
	defaultUserPage = 50
	maxUserPage     = 200
)

// endSessionsSQL deletes every tracked session of user $1 from the session store. The rows of
// user_sessions stay until EndExpiredSessions audits them as ended.
const endSessionsSQL = `DELETE FROM sessions WHERE token IN (SELECT token FROM user_sessions WHERE user_id = $1)`

// SetBanned bans or unbans a user; a ban ends their sessions in the same transaction.
func (s *UserStore) SetBanned(ctx context.Context, id string, banned bool) error {
	takes := func(*sesame.User) bool { return banned }
	_, err := s.guarded(ctx, "set banned", id, takes, func(tx pgx.Tx, u *sesame.User) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET banned = $2, updated_at = now() WHERE id = $1`, id, banned); err != nil {
			return wrapErr("set banned", err)
		}
		if !banned {
			return nil
		}
		if _, err := tx.Exec(ctx, endSessionsSQL, id); err != nil {
			return wrapErr("end sessions", err)
		}
		return nil
	})
	return err
}

// SetRole gives a user role.
func (s *UserStore) SetRole(ctx context.Context, id string, role sesame.Role) error {
	if role != sesame.RoleAdmin && role != sesame.RoleUser {
		return sesame.Errorf(sesame.EINVALID, "Unknown role %q.", role)
	}
	takes := func(*sesame.User) bool { return role != sesame.RoleAdmin }
	_, err := s.guarded(ctx, "set role", id, takes, func(tx pgx.Tx, u *sesame.User) error {
		_, err := tx.Exec(ctx, `UPDATE users SET role = $2, updated_at = now() WHERE id = $1`, id, role)
		return wrapErr("set role", err)
	})
	return err
}

// DeleteUser deletes a user, their sessions (from the session store too) and their GitHub token; the
// foreign key of tasks sets their user to NULL.
func (s *UserStore) DeleteUser(ctx context.Context, id string) (*sesame.User, error) {
	takes := func(*sesame.User) bool { return true }
	return s.guarded(ctx, "delete user", id, takes, func(tx pgx.Tx, u *sesame.User) error {
		if _, err := tx.Exec(ctx, endSessionsSQL, id); err != nil {
			return wrapErr("end sessions", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id); err != nil {
			return wrapErr("delete user", err)
		}
		return nil
	})
}

// guarded runs change on the user with id in a transaction that keeps at least one active admin. It
// locks the rows of every active admin first, always in the same order, then the user's row: two
// changes that could each take an admin away wait for each other, and the second one's lock query
// sees the first one's change (under READ COMMITTED, a row locked after waiting is read again and
// dropped when it no longer matches). When takes says the change takes an active admin away and that
// admin is the last one, it refuses with ECONFLICT and changes nothing. It returns the user as they
// were before change.
//
// The locks are FOR NO KEY UPDATE: they exclude each other, but not the key-share locks that
// inserting a task for one of these users takes, so admins starting tasks are not held up.
func (s *UserStore) guarded(ctx context.Context, op, id string, takes func(*sesame.User) bool, change func(pgx.Tx, *sesame.User) error) (*sesame.User, error) {
	if uuid.Validate(id) != nil {
		return nil, errUserNotFound()
	}
	var before *sesame.User
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT id FROM users WHERE role = 'admin' AND NOT banned ORDER BY id FOR NO KEY UPDATE`)
		admins, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return wrapErr("lock admins", err)
		}
		rows, _ = tx.Query(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR NO KEY UPDATE`, id)
		u, err := pgx.CollectExactlyOneRow(rows, scanUser)
		if errors.Is(err, pgx.ErrNoRows) {
			return errUserNotFound()
		} else if err != nil {
			return wrapErr("lock user", err)
		}
		if activeAdmin(u) && takes(u) && len(admins) <= 1 {
			return sesame.Errorf(sesame.ECONFLICT, "%s is the last admin: make another user an admin first.", u.Email)
		}
		before = u
		return change(tx, u)
	})
	if err != nil {
		return nil, coded(op, err)
	}
	return before, nil
}

// CountAdmins returns how many active admins there are.
func (s *UserStore) CountAdmins(ctx context.Context) (int, error) {
	var n int
	if err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND NOT banned`).Scan(&n); err != nil {
		return 0, wrapErr("count admins", err)
	}
	return n, nil
}

func activeAdmin(u *sesame.User) bool { return u.Role == sesame.RoleAdmin && !u.Banned }

// ListUsers returns a page of users, newest first, with their last sign-in and task count.
func (s *UserStore) ListUsers(ctx context.Context, q sesame.UserQuery) (*sesame.UserPage, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = defaultUserPage
	case limit > maxUserPage:
		limit = maxUserPage
	}
	var where []string
	var args []any
	if search := strings.TrimSpace(q.Search); search != "" {
		args = append(args, "%"+escapeLike(search)+"%")
		n := len(args)
		where = append(where, fmt.Sprintf(`(name ILIKE $%d ESCAPE '\' OR email ILIKE $%d ESCAPE '\')`, n, n))
	}
	if q.After != "" {
		at, id, err := parseUserCursor(q.After)
		if err != nil {
			return nil, err
		}
		args = append(args, at, id)
		where = append(where, fmt.Sprintf(`(created_at, id) < ($%d, $%d)`, len(args)-1, len(args)))
	}
	query := summarySQL
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, limit+1)
	query += fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args))
	rows, _ := s.db.Pool.Query(ctx, query, args...)
	users, err := pgx.CollectRows(rows, scanUserSummary)
	if err != nil {
		return nil, wrapErr("list users", err)
	}
	page := &sesame.UserPage{Users: users}
	if len(users) > limit {
		page.Users = users[:limit]
		last := page.Users[limit-1]
		page.Next = userCursor(last.CreatedAt, last.ID)
	}
	return page, nil
}

// summarySQL selects users with their last sign-in and task count, counted by the index on tasks'
// user_id for each user of the page, in the same query.
const summarySQL = `SELECT ` + userColumns + `, last_sign_in_at,
	(SELECT count(*) FROM tasks WHERE tasks.user_id = users.id) FROM users`

// UserSummary returns the user with id with their last sign-in and task count.
func (s *UserStore) UserSummary(ctx context.Context, id string) (*sesame.UserSummary, error) {
	if uuid.Validate(id) != nil {
		return nil, errUserNotFound()
	}
	rows, _ := s.db.Pool.Query(ctx, summarySQL+` WHERE id = $1`, id)
	u, err := pgx.CollectExactlyOneRow(rows, scanUserSummary)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errUserNotFound()
	} else if err != nil {
		return nil, wrapErr("select user", err)
	}
	return &u, nil
}

// escapeLike makes s match itself in a LIKE pattern whose escape character is a backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// userCursor names a place in the list of users: the (created_at, id) of the last user of a page, the
// time in microseconds as PostgreSQL keeps it.
func userCursor(at time.Time, id string) string {
	return strconv.FormatInt(at.UnixMicro(), 10) + "_" + id
}

func parseUserCursor(c string) (time.Time, string, error) {
	micros, id, ok := strings.Cut(c, "_")
	n, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || uuid.Validate(id) != nil {
		return time.Time{}, "", sesame.Errorf(sesame.EINVALID, "This page of users does not exist; start again from the first page.")
	}
	return time.UnixMicro(n).UTC(), id, nil
}

func scanUserSummary(row pgx.CollectableRow) (sesame.UserSummary, error) {
	var s sesame.UserSummary
	var id uuid.UUID
	var last *time.Time
	if err := row.Scan(append(userFields(&s.User, &id), &last, &s.TaskCount)...); err != nil {
		return s, err
	}
	s.ID = id.String()
	if last != nil {
		s.LastSignInAt = *last
	}
	return s, nil
}

// QueuedTasks returns the ids of the user's tasks still queued, oldest first.
func (s *UserStore) QueuedTasks(ctx context.Context, userID string) ([]string, error) {
	if uuid.Validate(userID) != nil {
		return nil, nil
	}
	rows, _ := s.db.Pool.Query(ctx, `SELECT id::text FROM tasks WHERE user_id = $1 AND status = $2
		ORDER BY created_at, id`, userID, sesame.StatusQueued)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrapErr("list queued tasks", err)
	}
	return ids, nil
}

// RecordSignIn tracks session sess and sets its user's last sign-in.
func (s *UserStore) RecordSignIn(ctx context.Context, sess sesame.UserSession) (*sesame.UserSession, error) {
	if uuid.Validate(sess.UserID) != nil {
		return nil, errUserNotFound()
	}
	if sess.Token == "" || sess.ExpiresAt.IsZero() {
		return nil, sesame.Errorf(sesame.EINVALID, "A session needs its token and when it expires.")
	}
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = time.Now()
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("new session id: %w", err)
	}
	sess.ID = id.String()
	err = pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET last_sign_in_at = $2 WHERE id = $1`, sess.UserID, sess.CreatedAt)
		if err != nil {
			return wrapErr("set last sign-in", err)
		} else if tag.RowsAffected() == 0 {
			return errUserNotFound()
		}
		_, err = tx.Exec(ctx, `INSERT INTO user_sessions (id, token, user_id, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, sess.ID, sess.Token, sess.UserID, sess.CreatedAt, sess.ExpiresAt)
		return wrapErr("track session", err)
	})
	if err != nil {
		return nil, coded("record sign-in", err)
	}
	return &sess, nil
}

// ForgetSession stops tracking the session stored under token.
func (s *UserStore) ForgetSession(ctx context.Context, token string) error {
	_, err := s.db.Pool.Exec(ctx, `DELETE FROM user_sessions WHERE token = $1`, token)
	return wrapErr("forget session", err)
}

// CountSessions returns how many tracked sessions of the user are alive in the session store.
func (s *UserStore) CountSessions(ctx context.Context, userID string) (int, error) {
	if uuid.Validate(userID) != nil {
		return 0, nil
	}
	var n int
	err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM user_sessions us
		JOIN sessions s ON s.token = us.token AND s.expiry > now()
		WHERE us.user_id = $1 AND us.expires_at > now()`, userID).Scan(&n)
	if err != nil {
		return 0, wrapErr("count sessions", err)
	}
	return n, nil
}

// EndExpiredSessions forgets up to limit tracked sessions that ended, deleting what is left of them
// in the session store, in one statement. Rows another caller is forgetting are skipped, not waited
// for, so concurrent sweepers share the work and never report a session twice.
func (s *UserStore) EndExpiredSessions(ctx context.Context, limit int) ([]sesame.UserSession, error) {
	if limit <= 0 {
		limit = 500
	}
	rows, _ := s.db.Pool.Query(ctx, `WITH ended AS (
			DELETE FROM user_sessions WHERE id IN (
				SELECT us.id FROM user_sessions us
				WHERE us.expires_at <= now()
					OR NOT EXISTS (SELECT 1 FROM sessions s WHERE s.token = us.token AND s.expiry > now())
				ORDER BY us.created_at
				LIMIT $1
				FOR UPDATE SKIP LOCKED)
			RETURNING id, token, user_id, created_at, expires_at
		), gone AS (
			DELETE FROM sessions USING ended WHERE sessions.token = ended.token
		)
		SELECT id::text, token, user_id::text, created_at, expires_at FROM ended ORDER BY created_at`, limit)
	ended, err := pgx.CollectRows(rows, pgx.RowToStructByPos[sesame.UserSession])
	if err != nil {
		return nil, wrapErr("end expired sessions", err)
	}
	return ended, nil
}
