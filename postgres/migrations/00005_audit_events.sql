-- +goose Up
-- The audit log. actor_id is 'system' or a user's id as text, with no foreign key: the events of a
-- deleted user stay. at is always the insert's now(), never a value from the caller, so id order and
-- time order agree but for inserts running at the same instant; the store relies on that to turn a
-- date range into a range of ids (see postgres/audit_store.go).
CREATE TABLE audit_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_id      text NOT NULL,
    actor_email   text NOT NULL DEFAULT '',
    action        text NOT NULL,
    resource_type text NOT NULL DEFAULT '',
    resource_id   text NOT NULL DEFAULT '',
    ip            text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '',
    payload       jsonb NOT NULL DEFAULT '{}'
);

-- Every page is newest first by id from a keyset (id < before), and walks one index that starts with
-- the columns it filters on (equal to a value) and ends with id, so that it reads no more rows than
-- it shows: the primary key with no filter; an index below for action, resource type, actor, and
-- each pair of them; with the three, (actor_id, action, id) (an action has one resource type in
-- practice, and the store first checks that the pairs exist at all). A date range becomes a range of
-- ids, found through audit_events_at_idx, which retention deletes by too.
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
CREATE INDEX audit_events_resource_type_idx ON audit_events (resource_type, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, id);
CREATE INDEX audit_events_actor_action_idx ON audit_events (actor_id, action, id);
CREATE INDEX audit_events_actor_resource_type_idx ON audit_events (actor_id, resource_type, id);
CREATE INDEX audit_events_action_resource_type_idx ON audit_events (action, resource_type, id);

-- +goose Down
DROP TABLE audit_events;
