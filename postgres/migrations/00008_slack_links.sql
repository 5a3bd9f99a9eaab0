-- +goose Up
-- Which Sesame account a Slack member acts as, when they linked it with a one-time link opened while
-- signed in (a member whose Slack email matches an account needs none).
CREATE TABLE slack_links (
    team_id    text NOT NULL,
    slack_user text NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    linked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, slack_user)
);

-- One-time links, by the SHA-256 of their token (the token itself is only in the link).
CREATE TABLE slack_link_tokens (
    token_hash bytea PRIMARY KEY,
    team_id    text NOT NULL,
    slack_user text NOT NULL,
    slack_name text NOT NULL DEFAULT '',
    expires_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE slack_link_tokens;
DROP TABLE slack_links;
