package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

// mustCreate creates a user with name, email and role.
func mustCreate(t *testing.T, users *postgres.UserStore, name, email string, role sesame.Role) *sesame.User {
	t.Helper()
	u, err := users.CreateUser(context.Background(), sesame.User{Name: name, Email: email, Role: role, PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// webTask stores a task of userID from the web form.
func webTask(t *testing.T, tasks *postgres.TaskStore, userID, delivery string) *sesame.Task {
	t.Helper()
	r := request(delivery)
	r.Source, r.UserID, r.Requester = sesame.SourceWeb, userID, "requester-"+delivery
	task, _, err := tasks.CreateTask(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// listAll pages through every user matching search, limit at a time.
func listAll(t *testing.T, users *postgres.UserStore, search string, limit int) []sesame.UserSummary {
	t.Helper()
	var all []sesame.UserSummary
	q := sesame.UserQuery{Search: search, Limit: limit}
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		page, err := users.ListUsers(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Users) > limit {
			t.Fatalf("page of %d users, limit %d", len(page.Users), limit)
		}
		all = append(all, page.Users...)
		if page.Next == "" {
			return all
		}
		q.After = page.Next
	}
}

func ids(users []sesame.UserSummary) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.ID)
	}
	return out
}

func TestListUsersPagesWithoutGapsOrRepeats(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	for i := range 23 {
		mustCreate(t, users, fmt.Sprintf("User %02d", i), fmt.Sprintf("u%02d@example.com", i), sesame.RoleUser)
	}
	// Ten users created in the same microsecond: only the id tells them apart.
	if _, err := db.Pool.Exec(ctx, `UPDATE users SET created_at = '2026-01-01T00:00:00Z'
		WHERE id IN (SELECT id FROM users ORDER BY id LIMIT 10 OFFSET 5)`); err != nil {
		t.Fatal(err)
	}
	var want []string
	rows, _ := db.Pool.Query(ctx, `SELECT id::text FROM users ORDER BY created_at DESC, id DESC`)
	for rows.Next() {
		var id string
		rows.Scan(&id)
		want = append(want, id)
	}
	if rows.Err() != nil || len(want) != 23 {
		t.Fatalf("%d users, %v", len(want), rows.Err())
	}
	for _, limit := range []int{1, 4, 7, 10, 23, 50} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			if diff := cmp.Diff(want, ids(listAll(t, users, "", limit))); diff != "" {
				t.Errorf("users over every page (-want +got):\n%s", diff)
			}
		})
	}
	page, err := users.ListUsers(ctx, sesame.UserQuery{})
	if err != nil || len(page.Users) != 23 || page.Next != "" {
		t.Errorf("default page: %d users, next %q, %v; want all 23 and no next", len(page.Users), page.Next, err)
	}
	for _, bad := range []string{"x", "12_notanid", "abc_018f0000-0000-7000-8000-000000000000", "_"} {
		if _, err := users.ListUsers(ctx, sesame.UserQuery{After: bad}); sesame.ErrorCode(err) != sesame.EINVALID {
			t.Errorf("ListUsers(After %q) = %v, want invalid", bad, err)
		}
	}
}

func TestListUsersSearch(t *testing.T) {
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	ada := mustCreate(t, users, "Ada Lovelace", "ada@example.com", sesame.RoleAdmin)
	grace := mustCreate(t, users, "Grace Hopper", "grace@navy.example", sesame.RoleUser)
	pct := mustCreate(t, users, "100% sure", "percent@example.com", sesame.RoleUser)
	under := mustCreate(t, users, "snake_case", "under@example.com", sesame.RoleUser)
	slash := mustCreate(t, users, `back\slash`, "slash@example.com", sesame.RoleUser)
	mustCreate(t, users, "Someone", "x1y@other.example", sesame.RoleUser)

	for _, tt := range []struct {
		search string
		want   []*sesame.User
	}{
		{search: "ADA", want: []*sesame.User{ada}},
		{search: "  lovelace ", want: []*sesame.User{ada}},
		{search: "NAVY", want: []*sesame.User{grace}},
		{search: "@example.com", want: []*sesame.User{slash, under, pct, ada}},
		{search: "%", want: []*sesame.User{pct}},
		{search: "_", want: []*sesame.User{under}},
		{search: "x_y"},
		{search: `\`, want: []*sesame.User{slash}},
		{search: "nobody"},
	} {
		t.Run(tt.search, func(t *testing.T) {
			var want []string
			for _, u := range tt.want {
				want = append(want, u.ID)
			}
			if diff := cmp.Diff(want, ids(listAll(t, users, tt.search, 2))); diff != "" {
				t.Errorf("search %q (-want +got):\n%s", tt.search, diff)
			}
		})
	}
}

func TestListUsersShowsTaskCountsAndLastSignIn(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	tasks := postgres.NewTaskStore(db)
	ada := mustCreate(t, users, "Ada", "ada@example.com", sesame.RoleAdmin)
	bob := mustCreate(t, users, "Bob", "bob@example.com", sesame.RoleUser)
	mustCreate(t, users, "Carol", "carol@example.com", sesame.RoleUser)
	for i := range 3 {
		webTask(t, tasks, bob.ID, fmt.Sprint("bob-", i))
	}
	webTask(t, tasks, ada.ID, "ada-1")
	tasks.CreateTask(ctx, request("from-github")) // nobody's

	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	if _, err := users.RecordSignIn(ctx, sesame.UserSession{Token: "mac-1", UserID: bob.ID, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	page, err := users.ListUsers(ctx, sesame.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Email    string
		Tasks    int
		SignedIn time.Time
		Role     sesame.Role
	}
	var got []row
	for _, u := range page.Users {
		got = append(got, row{u.Email, u.TaskCount, u.LastSignInAt.UTC(), u.Role})
	}
	want := []row{
		{"carol@example.com", 0, time.Time{}, sesame.RoleUser},
		{"bob@example.com", 3, at, sesame.RoleUser},
		{"ada@example.com", 1, time.Time{}, sesame.RoleAdmin},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	one, err := users.UserSummary(ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(page.Users[1], *one); diff != "" {
		t.Errorf("UserSummary differs from the list (-list +summary):\n%s", diff)
	}
	for _, id := range []string{unknownID, "bad"} {
		if _, err := users.UserSummary(ctx, id); sesame.ErrorCode(err) != sesame.ENOTFOUND {
			t.Errorf("UserSummary(%s) = %v, want not found", id, err)
		}
	}
}

func TestLastAdminCannotBeRemoved(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	ada := mustCreate(t, users, "Ada", "ada@example.com", sesame.RoleAdmin)
	bob := mustCreate(t, users, "Bob", "bob@example.com", sesame.RoleUser)
	// A banned admin is no admin: it does not count.
	eve := mustCreate(t, users, "Eve", "eve@example.com", sesame.RoleAdmin)
	if err := users.SetBanned(ctx, eve.ID, true); err != nil {
		t.Fatal(err)
	}

	if n, err := users.CountAdmins(ctx); err != nil || n != 1 {
		t.Errorf("CountAdmins = %d, %v; want 1 (the banned admin does not count)", n, err)
	}
	refused := []struct {
		name string
		do   func() error
	}{
		{"demote", func() error { return users.SetRole(ctx, ada.ID, sesame.RoleUser) }},
		{"ban", func() error { return users.SetBanned(ctx, ada.ID, true) }},
		{"delete", func() error { _, err := users.DeleteUser(ctx, ada.ID); return err }},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if sesame.ErrorCode(err) != sesame.ECONFLICT || sesame.ErrorMessage(err) != "ada@example.com is the last admin: make another user an admin first." {
				t.Fatalf("err = %v (%q), want the last-admin conflict", err, sesame.ErrorMessage(err))
			}
			got, err := users.User(ctx, ada.ID)
			if err != nil || got.Role != sesame.RoleAdmin || got.Banned {
				t.Errorf("the last admin changed: %+v, %v", got, err)
			}
		})
	}
	// What keeps the admin count is allowed: promoting to admin again, unbanning, changing others.
	for _, tt := range []struct {
		name string
		do   func() error
	}{
		{"promote the last admin again", func() error { return users.SetRole(ctx, ada.ID, sesame.RoleAdmin) }},
		{"unban the last admin", func() error { return users.SetBanned(ctx, ada.ID, false) }},
		{"demote a banned admin", func() error { return users.SetRole(ctx, eve.ID, sesame.RoleUser) }},
		{"ban a user", func() error { return users.SetBanned(ctx, bob.ID, true) }},
	} {
		if err := tt.do(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// With a second admin, the first may go.
	if err := users.SetRole(ctx, bob.ID, sesame.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := users.SetBanned(ctx, bob.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := users.SetRole(ctx, ada.ID, sesame.RoleUser); err != nil {
		t.Errorf("demote one of two admins: %v", err)
	}
	if _, err := users.DeleteUser(ctx, bob.ID); sesame.ErrorCode(err) != sesame.ECONFLICT {
		t.Errorf("delete the remaining admin = %v, want conflict", err)
	}

	for _, tt := range []struct {
		name string
		err  error
		code string
	}{
		{"unknown role", users.SetRole(ctx, bob.ID, "root"), sesame.EINVALID},
		{"role of unknown user", users.SetRole(ctx, unknownID, sesame.RoleUser), sesame.ENOTFOUND},
		{"role of invalid id", users.SetRole(ctx, "bad", sesame.RoleUser), sesame.ENOTFOUND},
		{"ban unknown user", users.SetBanned(ctx, unknownID, true), sesame.ENOTFOUND},
		{"delete unknown user", func() error { _, err := users.DeleteUser(ctx, unknownID); return err }(), sesame.ENOTFOUND},
		{"delete invalid id", func() error { _, err := users.DeleteUser(ctx, "bad"); return err }(), sesame.ENOTFOUND},
	} {
		if sesame.ErrorCode(tt.err) != tt.code {
			t.Errorf("%s: %v, want code %q", tt.name, tt.err, tt.code)
		}
	}
}

// Two admins each remove the other at the same moment, over and over: exactly one succeeds each
// time, and an active admin always remains.
func TestLastAdminRace(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	removals := []struct {
		name string
		do   func(id string) error
	}{
		{"demote", func(id string) error { return users.SetRole(ctx, id, sesame.RoleUser) }},
		{"ban", func(id string) error { return users.SetBanned(ctx, id, true) }},
		{"delete", func(id string) error { _, err := users.DeleteUser(ctx, id); return err }},
	}
	for round := range 30 {
		a := mustCreate(t, users, "A", fmt.Sprintf("a%d@example.com", round), sesame.RoleAdmin)
		b := mustCreate(t, users, "B", fmt.Sprintf("b%d@example.com", round), sesame.RoleAdmin)
		// Leave only a and b as active admins.
		if _, err := db.Pool.Exec(ctx, `UPDATE users SET role = 'user' WHERE id NOT IN ($1, $2)`, a.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		first, second := removals[round%3], removals[(round/3)%3]
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 2)
		wg.Go(func() { <-start; errs[0] = first.do(b.ID) })
		wg.Go(func() { <-start; errs[1] = second.do(a.ID) })
		close(start)
		wg.Wait()
		codes := []string{sesame.ErrorCode(errs[0]), sesame.ErrorCode(errs[1])}
		slices.Sort(codes)
		if diff := cmp.Diff([]string{"", sesame.ECONFLICT}, codes); diff != "" {
			t.Fatalf("round %d (%s b, %s a): outcomes (-want +got):\n%s; errors %v", round, first.name, second.name, diff, errs)
		}
		var active int
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND NOT banned`).Scan(&active)
		if active != 1 {
			t.Fatalf("round %d: %d active admins, want 1", round, active)
		}
	}
}

func TestDeleteUserKeepsTasksAndEndsSessions(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	tasks := postgres.NewTaskStore(db)
	mustCreate(t, users, "Ada", "ada@example.com", sesame.RoleAdmin)
	bob := mustCreate(t, users, "Bob", "Bob@example.com", sesame.RoleUser)
	if err := users.SetGitHubToken(ctx, bob.ID, sesame.GitHubToken{Login: "bob-gh", Sealed: []byte("sealed"), Last4: "abcd"}); err != nil {
		t.Fatal(err)
	}
	task := webTask(t, tasks, bob.ID, "bob-1")
	session(t, db, users, bob.ID, "bob-mac", time.Hour)

	deleted, err := users.DeleteUser(ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if deleted.Email != "bob@example.com" || deleted.ID != bob.ID {
		t.Errorf("deleted = %+v", deleted)
	}
	if _, err := users.User(ctx, bob.ID); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("User after delete = %v, want not found", err)
	}
	got, err := tasks.Task(ctx, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != "" || got.Requester != "requester-bob-1" {
		t.Errorf("task after delete: user %q, requester %q; want no user and the requester kept", got.UserID, got.Requester)
	}
	if n := countRows(t, db, `SELECT count(*) FROM sessions WHERE token = 'bob-mac'`); n != 0 {
		t.Error("the deleted user's session is still in the session store")
	}
	if n := countRows(t, db, `SELECT count(*) FROM user_sessions`); n != 0 {
		t.Error("the deleted user's session is still tracked")
	}
	if login, _ := users.CommitLogin(ctx, "", "bob-gh"); login != "" {
		t.Errorf("the deleted user's GitHub token still attributes commits to %q", login)
	}
	if _, err := users.DeleteUser(ctx, bob.ID); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("second delete = %v, want not found", err)
	}
}

// session stores a session keyed mac in the session store, live for ttl (negative: already expired),
// and tracks it as the user's.
func session(t *testing.T, db *postgres.DB, users *postgres.UserStore, userID, mac string, ttl time.Duration) *sesame.UserSession {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO sessions (token, data, expiry) VALUES ($1, '\x00', now() + $2::interval)`,
		mac, fmt.Sprintf("%d milliseconds", ttl.Milliseconds())); err != nil {
		t.Fatal(err)
	}
	s, err := users.RecordSignIn(ctx, sesame.UserSession{Token: mac, UserID: userID, ExpiresAt: time.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBanEndsEverySession(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	mustCreate(t, users, "Ada", "ada@example.com", sesame.RoleAdmin)
	bob := mustCreate(t, users, "Bob", "bob@example.com", sesame.RoleUser)
	carol := mustCreate(t, users, "Carol", "carol@example.com", sesame.RoleUser)
	session(t, db, users, bob.ID, "bob-laptop", time.Hour)
	session(t, db, users, bob.ID, "bob-phone", time.Hour)
	session(t, db, users, carol.ID, "carol", time.Hour)
	if n, err := users.CountSessions(ctx, bob.ID); err != nil || n != 2 {
		t.Fatalf("CountSessions(bob) = %d, %v; want 2", n, err)
	}

	if err := users.SetBanned(ctx, bob.ID, true); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM sessions WHERE token LIKE 'bob-%'`); n != 0 {
		t.Errorf("%d of the banned user's sessions left in the session store", n)
	}
	if n := countRows(t, db, `SELECT count(*) FROM sessions WHERE token = 'carol'`); n != 1 {
		t.Error("banning bob ended carol's session")
	}
	if n, _ := users.CountSessions(ctx, bob.ID); n != 0 {
		t.Errorf("CountSessions after the ban = %d", n)
	}
	// Unbanning does not bring sessions back, nor end other ones.
	if err := users.SetBanned(ctx, bob.ID, false); err != nil {
		t.Fatal(err)
	}
	if n, _ := users.CountSessions(ctx, carol.ID); n != 1 {
		t.Errorf("CountSessions(carol) = %d", n)
	}
}

func TestRecordSignIn(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	bob := mustCreate(t, users, "Bob", "bob@example.com", sesame.RoleUser)
	exp := time.Now().Add(time.Hour)
	s, err := users.RecordSignIn(ctx, sesame.UserSession{Token: "mac", UserID: bob.ID, ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID == "" || s.CreatedAt.IsZero() || s.UserID != bob.ID {
		t.Errorf("session = %+v", s)
	}
	for _, tt := range []struct {
		name string
		s    sesame.UserSession
		code string
	}{
		{"unknown user", sesame.UserSession{Token: "m2", UserID: unknownID, ExpiresAt: exp}, sesame.ENOTFOUND},
		{"invalid user id", sesame.UserSession{Token: "m2", UserID: "bad", ExpiresAt: exp}, sesame.ENOTFOUND},
		{"no token", sesame.UserSession{UserID: bob.ID, ExpiresAt: exp}, sesame.EINVALID},
		{"no expiry", sesame.UserSession{Token: "m2", UserID: bob.ID}, sesame.EINVALID},
	} {
		if _, err := users.RecordSignIn(ctx, tt.s); sesame.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want code %q", tt.name, err, tt.code)
		}
	}
	if n := countRows(t, db, `SELECT count(*) FROM user_sessions`); n != 1 {
		t.Errorf("%d tracked sessions, want 1", n)
	}
}

func TestEndExpiredSessions(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	bob := mustCreate(t, users, "Bob", "bob@example.com", sesame.RoleUser)
	alive := session(t, db, users, bob.ID, "alive", time.Hour)
	expired := session(t, db, users, bob.ID, "expired", -time.Minute)
	gone := session(t, db, users, bob.ID, "gone", time.Hour)
	db.Pool.Exec(ctx, `DELETE FROM sessions WHERE token = 'gone'`)
	lived := session(t, db, users, bob.ID, "lived", time.Hour) // alive in the store, past its lifetime
	db.Pool.Exec(ctx, `UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE token = 'lived'`)

	// Sweepers racing share the work and never report a session twice.
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				ended, err := users.EndExpiredSessions(ctx, 1)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ended) == 0 {
					return
				}
				mu.Lock()
				for _, s := range ended {
					if s.UserID != bob.ID {
						t.Errorf("ended session of %q", s.UserID)
					}
					got = append(got, s.ID)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	want := []string{expired.ID, gone.ID, lived.ID}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ended sessions (-want +got):\n%s", diff)
	}
	if n := countRows(t, db, `SELECT count(*) FROM sessions WHERE token IN ('expired', 'lived')`); n != 0 {
		t.Errorf("%d ended sessions left in the session store", n)
	}
	var left []string
	rows, _ := db.Pool.Query(ctx, `SELECT id::text FROM user_sessions`)
	for rows.Next() {
		var id string
		rows.Scan(&id)
		left = append(left, id)
	}
	if diff := cmp.Diff([]string{alive.ID}, left); diff != "" {
		t.Errorf("tracked sessions left (-want +got):\n%s", diff)
	}
	if ended, err := users.EndExpiredSessions(ctx, 0); err != nil || len(ended) != 0 {
		t.Errorf("second sweep = %v, %v; want nothing", ended, err)
	}
}

func TestQueuedTasks(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	tasks := postgres.NewTaskStore(db)
	bob := mustCreate(t, users, "Bob", "bob@example.com", sesame.RoleUser)
	carol := mustCreate(t, users, "Carol", "carol@example.com", sesame.RoleUser)
	q1 := webTask(t, tasks, bob.ID, "q1")
	running := webTask(t, tasks, bob.ID, "running")
	if _, err := tasks.SetStatus(ctx, running.ID, sesame.StatusRunning, ""); err != nil {
		t.Fatal(err)
	}
	q2 := webTask(t, tasks, bob.ID, "q2")
	webTask(t, tasks, carol.ID, "carol")
	got, err := users.QueuedTasks(ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{q1.ID, q2.ID}, got); diff != "" {
		t.Errorf("queued tasks (-want +got):\n%s", diff)
	}
	if got, err := users.QueuedTasks(ctx, "bad"); err != nil || len(got) != 0 {
		t.Errorf("QueuedTasks(bad) = %v, %v", got, err)
	}
}
