-- +goose Up
-- The admin section's users page: when each user last signed in, and which web sessions are whose.
ALTER TABLE users ADD COLUMN last_sign_in_at timestamptz;

-- A user's web sessions. token is the key of the session in the sessions table (the HMAC of the
-- cookie's token, never the token). There is deliberately no foreign key to sessions: a session that
-- disappears from there (signed out, expired, cleaned up) stays here until the sweeper audits it as
-- ended and forgets it. Deleting a user forgets their sessions with them.
CREATE TABLE user_sessions (
    id         uuid PRIMARY KEY,
    token      text NOT NULL UNIQUE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
-- Banning or deleting a user ends their sessions; the users page counts them.
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id);

-- The users page pages by (created_at, id), newest first.
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);

-- Searching users by any part of their name or email: trigram indexes, when the server lets this
-- database use pg_trgm (a trusted extension since PostgreSQL 13). Without it the search reads the
-- table, which for a table of users is still quick; the migration does not fail for that.
-- +goose StatementBegin
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX users_name_trgm_idx ON users USING gin (name gin_trgm_ops);
    CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'users search without trigram indexes: %', SQLERRM;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX IF EXISTS users_email_trgm_idx;
DROP INDEX IF EXISTS users_name_trgm_idx;
DROP INDEX users_created_idx;
DROP TABLE user_sessions;
ALTER TABLE users DROP COLUMN last_sign_in_at;
