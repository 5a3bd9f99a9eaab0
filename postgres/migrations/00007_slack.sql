-- +goose Up
-- Where in a chat workspace a request was made (sesame.OriginRef): for a Slack command its team,
-- channel and member ({"workspace": ..., "channel": ..., "channel_name": ..., "user": ...,
-- "user_name": ...}). '{}' for the other sources.
ALTER TABLE tasks ADD COLUMN origin_ref jsonb NOT NULL DEFAULT '{}';
-- The origin's handle on the message it edits in place as the task moves, when that is not a GitHub
-- comment id (progress_comment_id): for Slack the message's ts. '' until the task is acknowledged.
ALTER TABLE tasks ADD COLUMN progress_ref text NOT NULL DEFAULT '';

-- The repository a Slack channel's commands run on when they name none (/sesame repo owner/name).
CREATE TABLE slack_channels (
    team_id    text NOT NULL,
    channel_id text NOT NULL,
    repo       text NOT NULL,
    set_by     text NOT NULL DEFAULT '', -- the Sesame user who set it
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, channel_id)
);

-- +goose Down
DROP TABLE slack_channels;
ALTER TABLE tasks DROP COLUMN progress_ref;
ALTER TABLE tasks DROP COLUMN origin_ref;
