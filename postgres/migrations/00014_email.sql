-- +goose Up
-- Email (issue 15): when each user confirmed their address, and the single-use links sent by email.
--
-- Everyone who exists already counts as confirmed: they signed up before Sesame could send email,
-- and turning REQUIRE_EMAIL_VERIFICATION on must not lock them out.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;

-- Links sent by email, by the SHA-256 of their token (the token itself is only in the message).
-- purpose: 'verify' confirms the address, 'reset' sets a new password. email is the address the
-- link went to: a link for an address the user no longer has is void. A used or expired row stays
-- a while, so that opening the link again says what became of it.
CREATE TABLE email_tokens (
    token_hash bytea PRIMARY KEY,
    purpose    text NOT NULL CHECK (purpose IN ('verify', 'reset')),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires_idx ON email_tokens (expires_at);

-- +goose Down
DROP TABLE email_tokens;
ALTER TABLE users DROP COLUMN email_verified_at;
