-- +goose Up
CREATE TABLE users (
    id                  uuid PRIMARY KEY,
    email               text NOT NULL,
    name                text NOT NULL DEFAULT '',
    role                text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
    banned              boolean NOT NULL DEFAULT false,
    password_hash       text NOT NULL,
    github_login        text NOT NULL DEFAULT '',
    github_token_sealed bytea,
    github_token_last4  text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));
CREATE INDEX users_github_login_idx ON users (lower(github_login)) WHERE github_token_sealed IS NOT NULL;

-- Web sessions, in the shape alexedwards/scs/pgxstore reads. The token column holds an HMAC of the
-- cookie's token (keyed with BETTER_AUTH_SECRET), never the token itself.
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- Settings saved in the admin section: the "admin" layer between the environment and the file.
CREATE TABLE settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_by text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE tasks
    ADD COLUMN user_id           uuid REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN sandbox_security  boolean,
    ADD COLUMN keep_alive        boolean NOT NULL DEFAULT false,
    ADD COLUMN branch            text NOT NULL DEFAULT '',
    ADD COLUMN pr_number         integer NOT NULL DEFAULT 0,
    ADD COLUMN pr_url            text NOT NULL DEFAULT '',
    ADD COLUMN input_tokens      bigint NOT NULL DEFAULT 0,
    ADD COLUMN output_tokens     bigint NOT NULL DEFAULT 0,
    ADD COLUMN cost_usd          double precision NOT NULL DEFAULT 0,
    ADD COLUMN stop_requested_at timestamptz,
    ADD COLUMN stop_requested_by text NOT NULL DEFAULT '',
    ADD COLUMN started_at        timestamptz,
    ADD COLUMN finished_at       timestamptz;

CREATE INDEX tasks_user_created_idx ON tasks (user_id, created_at DESC) WHERE user_id IS NOT NULL;

-- +goose Down
DROP INDEX tasks_user_created_idx;
ALTER TABLE tasks
    DROP COLUMN user_id, DROP COLUMN sandbox_security, DROP COLUMN keep_alive, DROP COLUMN branch,
    DROP COLUMN pr_number, DROP COLUMN pr_url, DROP COLUMN input_tokens, DROP COLUMN output_tokens,
    DROP COLUMN cost_usd, DROP COLUMN stop_requested_at, DROP COLUMN stop_requested_by,
    DROP COLUMN started_at, DROP COLUMN finished_at;
DROP TABLE settings;
DROP TABLE sessions;
DROP TABLE users;
