-- +goose Up
-- What a request asked, independent of how it arrived: for a GitHub comment its installation, comment
-- and action ("github:comment:{installation}:{comment}:created"). GitHub does not sign the delivery id,
-- so the same signed body sent again under a new X-GitHub-Delivery carries the same key and makes no
-- second task. '' for requests without such an identity (web forms): they are deduplicated by their
-- delivery id alone.
ALTER TABLE tasks ADD COLUMN request_key text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX tasks_request_key_idx ON tasks (request_key) WHERE request_key <> '';

-- +goose Down
DROP INDEX tasks_request_key_idx;
ALTER TABLE tasks DROP COLUMN request_key;
