-- +goose Up
CREATE TABLE tasks (
    id                  uuid PRIMARY KEY,
    delivery_id         text NOT NULL UNIQUE,
    source              text NOT NULL CHECK (source IN ('github', 'slack', 'web')),
    kind                text NOT NULL CHECK (kind IN ('run', 'help', 'usage')),
    repo                text NOT NULL DEFAULT '',
    installation_id     bigint NOT NULL DEFAULT 0,
    issue_number        integer NOT NULL DEFAULT 0,
    is_pull_request     boolean NOT NULL DEFAULT false,
    comment_id          bigint NOT NULL DEFAULT 0,
    comment_url         text NOT NULL DEFAULT '',
    requester           text NOT NULL DEFAULT '',
    requester_id        bigint NOT NULL DEFAULT 0,
    instruction         text NOT NULL DEFAULT '',
    agent               text NOT NULL DEFAULT '',
    model               text NOT NULL DEFAULT '',
    status              text NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'preparing', 'running', 'pushing', 'completed', 'failed', 'stopped')),
    reason              text NOT NULL DEFAULT '',
    progress_comment_id bigint NOT NULL DEFAULT 0,
    enqueued_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- The reconciler's question: which queued tasks never reached the queue?
CREATE INDEX tasks_unqueued_idx ON tasks (created_at) WHERE enqueued_at IS NULL AND status = 'queued';
CREATE INDEX tasks_created_at_idx ON tasks (created_at DESC);

CREATE TABLE task_events (
    id         bigserial PRIMARY KEY,
    task_id    uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    type       text NOT NULL,
    message    text NOT NULL DEFAULT '',
    data       jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX task_events_task_idx ON task_events (task_id, id);

-- +goose Down
DROP TABLE task_events;
DROP TABLE tasks;
