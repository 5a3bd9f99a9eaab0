-- +goose Up
-- Accounts of users at an OpenID Connect provider (sign-in with OIDC, issue 15). A subject ("sub") is
-- unique only within its issuer, so provider (OIDC_PROVIDER_ID), issuer and subject together name one
-- account: a provider id pointed at another issuer finds none of the old identities, and its users
-- are linked again by verified email. An identity goes with its user.
CREATE TABLE user_identities (
    provider     text NOT NULL,
    issuer       text NOT NULL,
    subject      text NOT NULL,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, issuer, subject)
);
CREATE INDEX user_identities_user_idx ON user_identities (user_id);

-- +goose Down
DROP TABLE user_identities;
