package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	sesame "github.com/sesame-works/sesame"
)

// createTasksSQL inserts tasks, each with its first status event, in one statement and so in one
// commit: a stored task always has its "queued" event, and a repeated request inserts neither. The
// tasks come as one array per column, so one prepared statement serves a batch of any size. ON
// CONFLICT without a target skips a row that repeats a task's delivery id or request key; when the
// task it repeats is still being inserted by another transaction, PostgreSQL waits for that one to
// end first.
const createTasksSQL = `
WITH t AS (
	INSERT INTO tasks (id, delivery_id, request_key, source, kind, repo, installation_id, issue_number,
		is_pull_request, comment_id, comment_url, requester, requester_id, instruction, agent, model,
		user_id, sandbox_security, keep_alive, origin_ref, base, budget_usd)
	SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::bigint[], $8::integer[], $9::boolean[], $10::bigint[], $11::text[], $12::text[], $13::bigint[],
		$14::text[], $15::text[], $16::text[], $17::uuid[], $18::boolean[], $19::boolean[], $20::jsonb[],
		$21::text[], $22::double precision[])
	ON CONFLICT DO NOTHING
	RETURNING id, created_at
), e AS (
	INSERT INTO task_events (task_id, type, message, data, created_at)
	SELECT id, 'status', 'queued', '{"status":"queued"}', created_at FROM t
)
SELECT id, created_at FROM t`

// CreateTask stores a queued task for r, or returns the task already stored for r's delivery id or
// request key.
func (s *TaskStore) CreateTask(ctx context.Context, r sesame.Request) (*sesame.Task, bool, error) {
	tasks, created, errs := s.CreateTasks(ctx, []sesame.Request{r})
	return tasks[0], created[0], errs[0]
}

// CreateTasks does for each of rs what CreateTask does, in one statement and one commit: the WAL
// flush that makes a task durable is paid once for the whole batch. It returns, for each request in
// the order of rs, its task and whether this call created it, or the error that refused it. Requests
// of rs that repeat one another (the same delivery id or request key) make one task, created for the
// first of them. A request the database refuses (an unknown user) fails alone: the others are then
// stored one by one.
func (s *TaskStore) CreateTasks(ctx context.Context, rs []sesame.Request) (tasks []*sesame.Task, created []bool, errs []error) {
	tasks, created, errs = make([]*sesame.Task, len(rs)), make([]bool, len(rs)), make([]error, len(rs))
	b := newTaskBatch(len(rs))
	first := make(map[string]int, 2*len(rs)) // delivery id or request key → the first request with it
	repeats := map[int]int{}                 // request → the earlier request of rs it repeats
	for i, r := range rs {
		r, id, userID, err := prepare(r)
		if err != nil {
			errs[i] = err
			continue
		}
		if j, ok := first["d:"+r.DeliveryID]; ok {
			repeats[i] = j
			continue
		}
		if j, ok := first["k:"+r.RequestKey]; ok && r.RequestKey != "" {
			repeats[i] = j
			continue
		}
		first["d:"+r.DeliveryID] = i
		if r.RequestKey != "" {
			first["k:"+r.RequestKey] = i
		}
		b.add(i, r, id, userID)
	}

	if len(b.index) > 0 {
		s.insert(ctx, b, tasks, created, errs)
	}
	for i, j := range repeats {
		if tasks[j] == nil {
			errs[i] = errs[j]
			continue
		}
		t := *tasks[j]
		tasks[i] = &t
	}
	return tasks, created, errs
}

// insert stores the batch b and fills in the answers of its requests.
func (s *TaskStore) insert(ctx context.Context, b *taskBatch, tasks []*sesame.Task, created []bool, errs []error) {
	rows, _ := s.db.Pool.Query(ctx, createTasksSQL, b.args()...)
	stored, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storedTask, error) {
		var st storedTask
		err := row.Scan(&st.id, &st.created)
		return st, err
	})
	var pgErr *pgconn.PgError
	switch {
	case err != nil && errors.As(err, &pgErr) && len(b.index) > 1 && (pgErr.Code[:2] == "22" || pgErr.Code[:2] == "23"):
		// A data or integrity error belongs to one request: store each alone, so only it fails.
		for k, i := range b.index {
			tasks[i], created[i], errs[i] = s.CreateTask(ctx, b.reqs[k])
		}
		return
	case err != nil && errors.As(err, &pgErr) && pgErr.Code == "23503": // foreign_key_violation: no such user
		errs[b.index[0]] = fmt.Errorf("insert task: %w (%w)", err,
			sesame.Errorf(sesame.EINVALID, "The request names an unknown user."))
		return
	case err != nil:
		err = wrapErr("insert tasks", err)
		for _, i := range b.index {
			errs[i] = err
		}
		return
	}

	at := make(map[uuid.UUID]time.Time, len(stored))
	for _, st := range stored {
		at[st.id] = st.created
	}
	var repeated []int // positions in b of the requests a stored task already answers
	for k, i := range b.index {
		t, ok := at[b.ids[k]]
		if !ok {
			repeated = append(repeated, k)
			continue
		}
		tasks[i] = &sesame.Task{ID: b.ids[k].String(), Request: b.reqs[k], Status: sesame.StatusQueued, CreatedAt: t, UpdatedAt: t}
		created[i] = true
	}
	if len(repeated) > 0 {
		s.findRepeated(ctx, b, repeated, tasks, errs)
	}
}

// findRepeated answers the requests of b at positions ks, which an existing task repeats, with that
// task: the one with the same delivery id, else the one with the same request key.
func (s *TaskStore) findRepeated(ctx context.Context, b *taskBatch, ks []int, tasks []*sesame.Task, errs []error) {
	deliveries, keys := make([]string, 0, len(ks)), make([]string, 0, len(ks))
	for _, k := range ks {
		deliveries = append(deliveries, b.reqs[k].DeliveryID)
		if b.reqs[k].RequestKey != "" {
			keys = append(keys, b.reqs[k].RequestKey)
		}
	}
	// request_key <> '' lets PostgreSQL use the partial unique index.
	rows, _ := s.db.Pool.Query(ctx, `SELECT `+taskColumns+`, request_key FROM tasks
		WHERE delivery_id = ANY($1) OR (request_key = ANY($2) AND request_key <> '')`, deliveries, keys)
	found, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*sesame.Task, error) {
		var key string
		t, err := scanTask(keyedRow{row, &key})
		if t != nil {
			t.RequestKey = key
		}
		return t, err
	})
	if err != nil {
		err = wrapErr("select repeated tasks", err)
		for _, k := range ks {
			errs[b.index[k]] = err
		}
		return
	}
	byDelivery, byKey := make(map[string]*sesame.Task, len(found)), make(map[string]*sesame.Task, len(found))
	for _, t := range found {
		byDelivery[t.DeliveryID] = t
		if t.RequestKey != "" {
			byKey[t.RequestKey] = t
		}
	}
	for _, k := range ks {
		r, i := b.reqs[k], b.index[k]
		t := byDelivery[r.DeliveryID]
		if t == nil && r.RequestKey != "" {
			t = byKey[r.RequestKey]
		}
		if t == nil { // the task it repeated was deleted in between
			errs[i] = wrapErr("insert task", fmt.Errorf("delivery %s conflicted with a task that is gone", r.DeliveryID))
			continue
		}
		c := *t
		tasks[i] = &c
	}
}

// keyedRow scans a row of taskColumns followed by request_key: scanTask's destinations, then key.
type keyedRow struct {
	pgx.CollectableRow
	key *string
}

func (r keyedRow) Scan(dest ...any) error { return r.CollectableRow.Scan(append(dest, r.key)...) }

type storedTask struct {
	id      uuid.UUID
	created time.Time
}

// taskBatch holds the requests of one insert as the columns createTasksSQL takes.
type taskBatch struct {
	index []int // position of each request in the caller's slice
	reqs  []sesame.Request
	ids   []uuid.UUID

	deliveryIDs, requestKeys, sources, kinds, repos []string
	installationIDs, commentIDs, requesterIDs       []int64
	issueNumbers                                    []int32
	isPullRequests, keepAlives                      []bool
	commentURLs, requesters, instructions           []string
	agents, models, bases                           []string
	userIDs                                         []*uuid.UUID // nil: not from a web user
	sandboxSecurity                                 []*bool
	originRefs                                      []sesame.OriginRef // jsonb
	budgets                                         []float64
}

func newTaskBatch(n int) *taskBatch {
	return &taskBatch{index: make([]int, 0, n), reqs: make([]sesame.Request, 0, n), ids: make([]uuid.UUID, 0, n)}
}

// prepare checks r, gives it a new task id and reads its user id (nil when no web user asked).
func prepare(r sesame.Request) (_ sesame.Request, id uuid.UUID, userID *uuid.UUID, err error) {
	if r.DeliveryID == "" {
		return r, id, nil, sesame.Errorf(sesame.EINVALID, "A request needs a delivery id.")
	}
	if r.UserID != "" {
		u, err := uuid.Parse(r.UserID)
		if err != nil {
			return r, id, nil, sesame.Errorf(sesame.EINVALID, "The request names an invalid user.")
		}
		userID, r.UserID = &u, u.String()
	}
	if id, err = uuid.NewV7(); err != nil {
		return r, id, nil, fmt.Errorf("new task id: %w", err)
	}
	return r, id, userID, nil
}

// add appends r, with its task id and user id, as request i of the caller's slice.
func (b *taskBatch) add(i int, r sesame.Request, id uuid.UUID, userID *uuid.UUID) {
	b.index, b.reqs, b.ids = append(b.index, i), append(b.reqs, r), append(b.ids, id)
	b.deliveryIDs = append(b.deliveryIDs, r.DeliveryID)
	b.requestKeys = append(b.requestKeys, r.RequestKey)
	b.sources = append(b.sources, string(r.Source))
	b.kinds = append(b.kinds, string(r.Kind))
	b.repos = append(b.repos, r.Repo)
	b.installationIDs = append(b.installationIDs, r.InstallationID)
	b.issueNumbers = append(b.issueNumbers, int32(r.IssueNumber))
	b.isPullRequests = append(b.isPullRequests, r.IsPullRequest)
	b.commentIDs = append(b.commentIDs, r.CommentID)
	b.commentURLs = append(b.commentURLs, r.CommentURL)
	b.requesters = append(b.requesters, r.Requester)
	b.requesterIDs = append(b.requesterIDs, r.RequesterID)
	b.instructions = append(b.instructions, r.Instruction)
	b.agents = append(b.agents, r.Agent)
	b.models = append(b.models, r.Model)
	b.bases = append(b.bases, r.Base)
	b.userIDs = append(b.userIDs, userID)
	b.sandboxSecurity = append(b.sandboxSecurity, r.SandboxSecurity)
	b.keepAlives = append(b.keepAlives, r.KeepAlive)
	b.originRefs = append(b.originRefs, r.OriginRef)
	b.budgets = append(b.budgets, r.Budget)
}

// args are createTasksSQL's parameters, in its order.
func (b *taskBatch) args() []any {
	return []any{b.ids, b.deliveryIDs, b.requestKeys, b.sources, b.kinds, b.repos, b.installationIDs,
		b.issueNumbers, b.isPullRequests, b.commentIDs, b.commentURLs, b.requesters, b.requesterIDs,
		b.instructions, b.agents, b.models, b.userIDs, b.sandboxSecurity, b.keepAlives, b.originRefs, b.bases, b.budgets}
}
