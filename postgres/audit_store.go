package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	sesame "github.com/sesame-works/sesame"
)

// AuditOptions configure an AuditStore. Enabled and RetentionDays are asked on every use, so a
// change an admin saves applies at once.
type AuditOptions struct {
	Enabled       func() bool // audit.enabled; nil: always on
	RetentionDays func() int  // audit.retentionDays; nil: 90; 0 or less: keep forever
	Logger        *slog.Logger
	// PruneChance is the share of writes that also delete expired events (0: 0.01; negative: none).
	// Rand decides which: a write prunes when Rand() < PruneChance; nil is math/rand/v2's Float64.
	PruneChance float64
	Rand        func() float64
	// PruneBatch is the most expired events a write deletes (default 500), so that a backlog (the
	// retention just lowered) never makes a sign-in slow; PruneAudit deletes the rest.
	PruneBatch int
}

// AuditStore implements sesame.AuditStore.
type AuditStore struct {
	db   *DB
	opts AuditOptions
}

var _ sesame.AuditStore = (*AuditStore)(nil)

const (
	defaultRetentionDays = 90
	defaultAuditPage     = 50
	maxAuditPage         = 500
	exportBatch          = 1000 // rows per query of ExportAudit
	sweepBatch           = 5000 // rows per statement of PruneAudit
	recordTimeout        = 5 * time.Second
	// auditJitter bounds how far apart, in time, two events can be whose ids are in the other order:
	// at is the insert's now() and the id is drawn during that same insert, so for this to be exceeded
	// an insert would have to take minutes, or the database's clock jump back as far.
	auditJitter = "5 minutes"
)

// Column sizes: longer values are cut (a user agent is a header anyone can fill).
const (
	maxIDLen        = 200
	maxEmailLen     = 320
	maxActionLen    = 100
	maxResourceLen  = 500
	maxIPLen        = 100
	maxUserAgentLen = 1000
	maxPayloadBytes = 32 << 10
	maxPayloadText  = 2 << 10 // a string in a payload that is over maxPayloadBytes
)

// NewAuditStore returns the audit log in db.
func NewAuditStore(db *DB, opts AuditOptions) *AuditStore {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PruneChance == 0 {
		opts.PruneChance = 0.01
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.PruneBatch <= 0 {
		opts.PruneBatch = 500
	}
	return &AuditStore{db: db, opts: opts}
}

func (s *AuditStore) enabled() bool { return s.opts.Enabled == nil || s.opts.Enabled() }

func (s *AuditStore) retentionDays() int {
	if s.opts.RetentionDays == nil {
		return defaultRetentionDays
	}
	return s.opts.RetentionDays()
}

// Record stores e, its payload redacted (sesame.RedactPayload) and its long values cut; e.ID and e.At
// are the store's. It does nothing when the audit log is off, and logs the errors it meets. The
// write outlives the caller's cancellation (a browser that goes away right after signing in is still
// recorded). About one write in a hundred also deletes up to PruneBatch expired events.
func (s *AuditStore) Record(ctx context.Context, e sesame.AuditEvent) {
	if !s.enabled() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	r := auditRowOf(e)
	_, err := s.db.Pool.Exec(ctx, `INSERT INTO audit_events
		(actor_id, actor_email, action, resource_type, resource_id, ip, user_agent, payload)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.actor, r.email, r.action, r.resourceType, r.resourceID, r.ip, r.userAgent, r.payload)
	if err != nil {
		s.opts.Logger.Error("record audit event", "action", e.Action, "actor", r.actor, "err", err)
		return
	}
	if s.opts.Rand() < s.opts.PruneChance {
		if days := s.retentionDays(); days > 0 {
			if _, err := s.prune(ctx, days, s.opts.PruneBatch); err != nil {
				s.opts.Logger.Warn("prune audit log", "err", err)
			}
		}
	}
}

// auditRow is an event as its columns store it: long values cut, secrets redacted.
type auditRow struct {
	actor, email, action, resourceType, resourceID, ip, userAgent string
	payload                                                       json.RawMessage
}

// auditRowOf returns e's columns: its payload redacted (sesame.RedactPayload), its resource id and
// user agent redacted too, long values cut, and no actor read as the system.
func auditRowOf(e sesame.AuditEvent) auditRow {
	actor := clip(e.ActorID, maxIDLen)
	if actor == "" {
		actor = sesame.ActorSystem
	}
	return auditRow{actor: actor, email: clip(e.ActorEmail, maxEmailLen), action: clip(string(e.Action), maxActionLen),
		resourceType: clip(e.ResourceType, maxResourceLen), resourceID: clip(sesame.RedactText(e.ResourceID), maxResourceLen),
		ip: clip(e.IP, maxIPLen), userAgent: clip(sesame.RedactText(e.UserAgent), maxUserAgentLen),
		payload: encodePayload(sesame.RedactPayload(e.Payload))}
}

// encodePayload returns p as JSON for the payload column: strings made valid for jsonb (UTF-8, no
// NUL), and, when the whole is over maxPayloadBytes, each string cut to maxPayloadText, or, if that
// is not enough, a note of the size instead.
func encodePayload(p map[string]any) json.RawMessage {
	if p == nil {
		return json.RawMessage(`{}`)
	}
	b, err := json.Marshal(cleanValue(p, -1))
	if err != nil {
		b, _ = json.Marshal(map[string]any{"unencodable": err.Error()})
		return b
	}
	if len(b) <= maxPayloadBytes {
		return b
	}
	size := len(b)
	b, _ = json.Marshal(cleanValue(p, maxPayloadText))
	if len(b) <= maxPayloadBytes {
		return b
	}
	b, _ = json.Marshal(map[string]any{"truncated": true, "bytes": size})
	return b
}

// cleanValue returns v (a redacted payload: maps, slices and scalars) with every string made valid
// for jsonb, and cut to limit bytes when limit >= 0.
func cleanValue(v any, limit int) any {
	switch v := v.(type) {
	case string:
		s := strings.ReplaceAll(strings.ToValidUTF8(v, "\uFFFD"), "\x00", "")
		if limit >= 0 {
			s = clip(s, limit)
		}
		return s
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[cleanValue(k, maxResourceLen).(string)] = cleanValue(x, limit)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = cleanValue(x, limit)
		}
		return out
	}
	return v
}

// clip returns s valid for a text column (UTF-8, no NUL), cut to at most limit bytes on a rune
// boundary, with "…" at the end when it was cut.
func clip(s string, limit int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= limit {
		return s
	}
	const ellipsis = "…"
	cut := limit - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:max(cut, 0)] + ellipsis
}

const auditColumns = `id, at, actor_id, actor_email, action, resource_type, resource_id, ip, user_agent, payload`

func scanAuditEvent(row pgx.CollectableRow) (sesame.AuditEvent, error) {
	var e sesame.AuditEvent
	err := row.Scan(&e.ID, &e.At, &e.ActorID, &e.ActorEmail, &e.Action, &e.ResourceType, &e.ResourceID, &e.IP, &e.UserAgent, &e.Payload)
	return e, err
}

// AuditEvent returns the event with id.
func (s *AuditStore) AuditEvent(ctx context.Context, id int64) (*sesame.AuditEvent, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_events WHERE id = $1`, id)
	e, err := pgx.CollectExactlyOneRow(rows, scanAuditEvent)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, sesame.Errorf(sesame.ENOTFOUND, "Audit event not found.")
	} else if err != nil {
		return nil, wrapErr("select audit event", err)
	}
	return &e, nil
}

// AuditEvents returns a page of events matching f, newest first: below f.Before when it is set;
// with f.After alone, the f.Limit events just above f.After (the oldest of the newer ones), so that
// a live tail that asks again with the highest id it got misses none. Limit is 50 by default, 500
// at most.
func (s *AuditStore) AuditEvents(ctx context.Context, f sesame.AuditFilter) ([]sesame.AuditEvent, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditPage
	}
	limit = min(limit, maxAuditPage)
	ids, err := s.idRange(ctx, f)
	if err != nil || ids.empty {
		return nil, err
	}
	return s.page(ctx, f, ids, limit)
}

// ExportAudit calls fn with every event matching f, newest first, reading exportBatch at a time by
// keyset: no connection is held while fn runs, and memory stays that of one batch.
func (s *AuditStore) ExportAudit(ctx context.Context, f sesame.AuditFilter, fn func(sesame.AuditEvent) error) error {
	f.Before, f.After, f.Limit = 0, 0, 0
	ids, err := s.idRange(ctx, f)
	if err != nil || ids.empty {
		return err
	}
	for {
		batch, err := s.page(ctx, f, ids, exportBatch)
		if err != nil {
			return err
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < exportBatch {
			return nil
		}
		f.Before = batch[len(batch)-1].ID
	}
}

// idBounds is the range of ids a date range covers.
type idBounds struct {
	lo, hi int64 // 0: no bound
	empty  bool  // no event is in the date range
}

// idRange turns f's date range into the range of ids of the events in it, so that a page with a
// date range is a keyset scan of an id index like any other. The smallest id at or after Start is
// among the events less than auditJitter after the first event at or after Start (any later one was
// inserted after that first one drew its id); likewise for the largest id before End. The page's
// query keeps the conditions on at as well, so the result is exact. min(id + 0) and max(id + 0) keep
// Postgres from answering by walking the primary key until a row is in the window (it would expect
// one soon, not knowing that id follows at): it reads the window through audit_events_at_idx.
func (s *AuditStore) idRange(ctx context.Context, f sesame.AuditFilter) (idBounds, error) {
	var b idBounds
	if f.Start.IsZero() && f.End.IsZero() {
		return b, nil
	}
	if !f.Start.IsZero() && !f.End.IsZero() && !f.Start.Before(f.End) {
		return idBounds{empty: true}, nil
	}
	lo, hi := `NULL::bigint`, `NULL::bigint`
	var args []any
	if !f.Start.IsZero() {
		args = append(args, f.Start)
		lo = `(SELECT min(id + 0) FROM audit_events WHERE at >= $1
			AND at < (SELECT min(at) FROM audit_events WHERE at >= $1) + interval '` + auditJitter + `')`
	}
	if !f.End.IsZero() {
		args = append(args, f.End)
		n := "$" + strconv.Itoa(len(args))
		hi = `(SELECT max(id + 0) FROM audit_events WHERE at < ` + n + `
			AND at >= (SELECT max(at) FROM audit_events WHERE at < ` + n + `) - interval '` + auditJitter + `')`
	}
	var l, h *int64
	if err := s.db.Pool.QueryRow(ctx, `SELECT `+lo+`, `+hi, args...).Scan(&l, &h); err != nil {
		return b, wrapErr("select audit id range", err)
	}
	if (!f.Start.IsZero() && l == nil) || (!f.End.IsZero() && h == nil) {
		return idBounds{empty: true}, nil
	}
	if l != nil {
		b.lo = *l
	}
	if h != nil {
		b.hi = *h
	}
	return b, nil
}

// page runs one keyset query. Each filter, and each pair of filters, has an index that starts with
// its columns and ends with id (see the migration), so Postgres walks that index from the keyset and
// stops after limit rows. The query is planned with its values each time (an unnamed statement):
// a plan made for any value could pick an index that is right for most and slow for some.
func (s *AuditStore) page(ctx context.Context, f sesame.AuditFilter, ids idBounds, limit int) ([]sesame.AuditEvent, error) {
	var where []string
	args := []any{pgx.QueryExecModeCacheDescribe}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args)-1)
	}
	add := func(cond string, v any) { where = append(where, strings.ReplaceAll(cond, "?", arg(v))) }
	if f.Action != "" {
		add(`action = ?`, string(f.Action))
	}
	if f.ResourceType != "" {
		add(`resource_type = ?`, f.ResourceType)
	}
	if f.UserID != "" {
		add(`actor_id = ?`, f.UserID)
	}
	if f.Action != "" && f.ResourceType != "" && f.UserID != "" {
		// All three walk (actor_id, action, id) and check the resource type of each row: when that
		// action never goes with that resource type, or the actor never touched it, that would be
		// every row of the actor's action. Two probes of an index answer first.
		a, r, u := arg(string(f.Action)), arg(f.ResourceType), arg(f.UserID)
		where = append(where, `EXISTS (SELECT FROM audit_events WHERE action = `+a+` AND resource_type = `+r+`)`,
			`EXISTS (SELECT FROM audit_events WHERE actor_id = `+u+` AND resource_type = `+r+`)`)
	}
	if !f.Start.IsZero() {
		add(`at >= ?`, f.Start)
	}
	if !f.End.IsZero() {
		add(`at < ?`, f.End)
	}
	if ids.lo > 0 {
		add(`id >= ?`, ids.lo)
	}
	if ids.hi > 0 {
		add(`id <= ?`, ids.hi)
	}
	if f.Before > 0 {
		add(`id < ?`, f.Before)
	}
	if f.After > 0 {
		add(`id > ?`, f.After)
	}
	q := `SELECT ` + auditColumns + ` FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	ascending := f.After > 0 && f.Before == 0
	if ascending {
		q += ` ORDER BY id`
	} else {
		q += ` ORDER BY id DESC`
	}
	q += ` LIMIT ` + arg(limit)
	rows, _ := s.db.Pool.Query(ctx, q, args...)
	events, err := pgx.CollectRows(rows, scanAuditEvent)
	if err != nil {
		return nil, wrapErr("select audit events", err)
	}
	if ascending {
		slices.Reverse(events)
	}
	return events, nil
}

// PruneAudit deletes the events older than the retention period, sweepBatch per statement so that
// no statement holds locks long, and returns how many went. With a retention of 0 it deletes none.
func (s *AuditStore) PruneAudit(ctx context.Context) (int64, error) {
	days := s.retentionDays()
	if days <= 0 {
		return 0, nil
	}
	var total int64
	for {
		n, err := s.prune(ctx, days, sweepBatch)
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}

// PruneEvery runs PruneAudit now and then every interval until ctx ends, logging what it does; it
// returns nil when ctx ends. Several nodes may run it at once: each skips the rows another is
// deleting.
func (s *AuditStore) PruneEvery(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		start := time.Now()
		n, err := s.PruneAudit(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.opts.Logger.Error("prune audit log", "deleted", n, "err", err)
		case n > 0:
			s.opts.Logger.Info("audit log pruned", "deleted", n, "retention_days", s.retentionDays(), "duration", time.Since(start))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// prune deletes up to limit events older than days, oldest first, skipping rows another prune has
// locked.
func (s *AuditStore) prune(ctx context.Context, days, limit int) (int64, error) {
	tag, err := s.db.Pool.Exec(ctx, `DELETE FROM audit_events WHERE id = ANY(ARRAY(
		SELECT id FROM audit_events WHERE at < now() - make_interval(days => $1)
		ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED))`, days, limit)
	if err != nil {
		return 0, wrapErr("prune audit events", err)
	}
	return tag.RowsAffected(), nil
}
