-- +goose Up
-- Users' own credentials for the agents (API keys, subscription logins), one per user and kind. The
-- value is sealed with ENCRYPTION_KEY, bound to its user and kind; hint is all the web app shows (the
-- last four characters of a secret, the whole of a base URL). A user's credentials go with them.
CREATE TABLE user_credentials (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    sealed     bytea NOT NULL,
    hint       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind)
);

-- +goose Down
DROP TABLE user_credentials;
