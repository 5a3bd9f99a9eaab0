package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

const unknownID = "018f0000-0000-7000-8000-000000000000"

func TestCreateUserAndFindIt(t *testing.T) {
	ctx := context.Background()
	users := postgres.NewUserStore(MustOpen(t))
	created, err := users.CreateUser(ctx, sesame.User{Email: "  Alice@Example.COM ", Name: "Alice", PasswordHash: "$argon2id$x"})
	if err != nil {
		t.Fatal(err)
	}
	if u, err := uuid.Parse(created.ID); err != nil || u.Version() != 7 {
		t.Errorf("user id %q is not a uuid v7 (%v)", created.ID, err)
	}
	want := &sesame.User{ID: created.ID, Email: "alice@example.com", Name: "Alice", Role: sesame.RoleUser,
		PasswordHash: "$argon2id$x", CreatedAt: time.Now()}
	if diff := cmp.Diff(want, created, cmpopts.EquateApproxTime(time.Minute)); diff != "" {
		t.Errorf("created user (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		name     string
		find     func() (*sesame.User, error)
		wantCode string
	}{
		{name: "by id", find: func() (*sesame.User, error) { return users.User(ctx, created.ID) }},
		{name: "by email", find: func() (*sesame.User, error) { return users.UserByEmail(ctx, "alice@example.com") }},
		{name: "by email in another case", find: func() (*sesame.User, error) { return users.UserByEmail(ctx, " ALICE@example.com") }},
		{name: "unknown email", find: func() (*sesame.User, error) { return users.UserByEmail(ctx, "bob@example.com") }, wantCode: sesame.ENOTFOUND},
		{name: "unknown id", find: func() (*sesame.User, error) { return users.User(ctx, unknownID) }, wantCode: sesame.ENOTFOUND},
		{name: "invalid id", find: func() (*sesame.User, error) { return users.User(ctx, "alice") }, wantCode: sesame.ENOTFOUND},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.find()
			if sesame.ErrorCode(err) != tt.wantCode {
				t.Fatalf("err = %v, want code %q", err, tt.wantCode)
			}
			if err == nil {
				if diff := cmp.Diff(created, got); diff != "" {
					t.Errorf("found user (-created +found):\n%s", diff)
				}
			}
		})
	}
}

func TestCreateUserRefuses(t *testing.T) {
	ctx := context.Background()
	users := postgres.NewUserStore(MustOpen(t))
	if _, err := users.CreateUser(ctx, sesame.User{Email: "alice@example.com", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name        string
		user        sesame.User
		wantCode    string
		wantMessage string
	}{
		{name: "same email", user: sesame.User{Email: "alice@example.com"}, wantCode: sesame.ECONFLICT,
			wantMessage: "A user with this email already exists."},
		{name: "same email in another case", user: sesame.User{Email: "Alice@EXAMPLE.com "}, wantCode: sesame.ECONFLICT,
			wantMessage: "A user with this email already exists."},
		{name: "no email", user: sesame.User{Email: "  "}, wantCode: sesame.EINVALID},
		{name: "unknown role", user: sesame.User{Email: "bob@example.com", Role: "root"}, wantCode: sesame.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := users.CreateUser(ctx, tt.user)
			if sesame.ErrorCode(err) != tt.wantCode {
				t.Fatalf("CreateUser = %v, want code %q", err, tt.wantCode)
			}
			if tt.wantMessage != "" && sesame.ErrorMessage(err) != tt.wantMessage {
				t.Errorf("message = %q, want %q", sesame.ErrorMessage(err), tt.wantMessage)
			}
		})
	}
	if n, err := users.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("CountUsers = %d, %v; want 1", n, err)
	}
	admin, err := users.CreateUser(ctx, sesame.User{Email: "carol@example.com", Role: sesame.RoleAdmin})
	if err != nil || admin.Role != sesame.RoleAdmin {
		t.Errorf("CreateUser(admin) = %+v, %v", admin, err)
	}
}

func TestCreateFirstAdmin(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	settings := postgres.NewSettingStore(db)

	admin, err := users.CreateFirstAdmin(ctx, sesame.User{Email: "Root@Example.com", Name: "Root", Role: sesame.RoleUser, PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if admin.Role != sesame.RoleAdmin || admin.Email != "root@example.com" {
		t.Errorf("first admin = %+v, want role admin and a lower-case email", admin)
	}
	got, err := settings.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"registration.allowNewUsers": "false"}, got); diff != "" {
		t.Errorf("settings after setup (-want +got):\n%s", diff)
	}
	var by string
	db.Pool.QueryRow(ctx, `SELECT updated_by FROM settings WHERE key = 'registration.allowNewUsers'`).Scan(&by)
	if by != "root@example.com" {
		t.Errorf("setting saved by %q, want the admin's email", by)
	}

	_, err = users.CreateFirstAdmin(ctx, sesame.User{Email: "second@example.com", PasswordHash: "h"})
	if sesame.ErrorCode(err) != sesame.ECONFLICT || sesame.ErrorMessage(err) != "Sesame is already set up." {
		t.Errorf("second CreateFirstAdmin = %v, want conflict: already set up", err)
	}
	if n, _ := users.CountUsers(ctx); n != 1 {
		t.Errorf("%d users, want 1", n)
	}
}

func TestCreateFirstAdminAfterAUserExists(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	MustCreateUser(t, db, "early@example.com")
	if _, err := users.CreateFirstAdmin(ctx, sesame.User{Email: "root@example.com"}); sesame.ErrorCode(err) != sesame.ECONFLICT {
		t.Fatalf("CreateFirstAdmin = %v, want conflict", err)
	}
	if got, _ := postgres.NewSettingStore(db).Settings(ctx); len(got) != 0 {
		t.Errorf("a refused setup saved settings: %v", got)
	}
}

// Two browsers submit the setup form at once: exactly one becomes the admin.
func TestCreateFirstAdminRace(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := range n {
		wg.Go(func() {
			// Different emails, so only the setup's own lock can keep the second admin out.
			_, err := users.CreateFirstAdmin(ctx, sesame.User{Email: string(rune('a'+i)) + "@example.com", PasswordHash: "h"})
			mu.Lock()
			defer mu.Unlock()
			codes[sesame.ErrorCode(err)]++
		})
	}
	wg.Wait()
	if diff := cmp.Diff(map[string]int{"": 1, sesame.ECONFLICT: n - 1}, codes); diff != "" {
		t.Errorf("outcomes by error code (-want +got):\n%s", diff)
	}
	var admins int
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE role = 'admin'`).Scan(&admins)
	if count, _ := users.CountUsers(ctx); count != 1 || admins != 1 {
		t.Errorf("%d users, %d admins; want one admin alone", count, admins)
	}
}

func TestSetBanned(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	u := MustCreateUser(t, db, "alice@example.com")
	for _, banned := range []bool{true, false} {
		if err := users.SetBanned(ctx, u.ID, banned); err != nil {
			t.Fatal(err)
		}
		if got, _ := users.User(ctx, u.ID); got.Banned != banned {
			t.Errorf("banned = %v, want %v", got.Banned, banned)
		}
	}
	for _, id := range []string{unknownID, "bad"} {
		if err := users.SetBanned(ctx, id, true); sesame.ErrorCode(err) != sesame.ENOTFOUND {
			t.Errorf("SetBanned(%s) = %v, want not found", id, err)
		}
	}
}

func TestGitHubToken(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	u := MustCreateUser(t, db, "alice@example.com")

	if _, err := users.GitHubToken(ctx, u.ID); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Fatalf("GitHubToken before any = %v, want not found", err)
	}
	for _, tok := range []sesame.GitHubToken{
		{Login: "alice-gh", Sealed: []byte{1, 2, 3, 0, 255}, Last4: "abcd"},
		{Login: "Alice-GH", Sealed: []byte{1, 9, 9}, Last4: "wxyz"}, // replaces the first
	} {
		if err := users.SetGitHubToken(ctx, u.ID, tok); err != nil {
			t.Fatal(err)
		}
		got, err := users.GitHubToken(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tok, got); diff != "" {
			t.Errorf("stored token (-set +got):\n%s", diff)
		}
		user, _ := users.User(ctx, u.ID)
		if user.GitHubLogin != tok.Login || user.GitHubTokenLast4 != tok.Last4 {
			t.Errorf("user shows %q/%q, want %q/%q", user.GitHubLogin, user.GitHubTokenLast4, tok.Login, tok.Last4)
		}
	}

	for range 2 { // deleting none is not an error
		if err := users.DeleteGitHubToken(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := users.GitHubToken(ctx, u.ID); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("GitHubToken after delete = %v, want not found", err)
	}
	if user, _ := users.User(ctx, u.ID); user.GitHubLogin != "" || user.GitHubTokenLast4 != "" {
		t.Errorf("user after delete shows %q/%q, want nothing", user.GitHubLogin, user.GitHubTokenLast4)
	}

	for _, tt := range []struct {
		name     string
		id       string
		tok      sesame.GitHubToken
		wantCode string
	}{
		{name: "unknown user", id: unknownID, tok: sesame.GitHubToken{Login: "x", Sealed: []byte{1}}, wantCode: sesame.ENOTFOUND},
		{name: "invalid user id", id: "bad", tok: sesame.GitHubToken{Login: "x", Sealed: []byte{1}}, wantCode: sesame.ENOTFOUND},
		{name: "nothing sealed", id: u.ID, tok: sesame.GitHubToken{Login: "x"}, wantCode: sesame.EINVALID},
		{name: "no login", id: u.ID, tok: sesame.GitHubToken{Sealed: []byte{1}}, wantCode: sesame.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := users.SetGitHubToken(ctx, tt.id, tt.tok); sesame.ErrorCode(err) != tt.wantCode {
				t.Errorf("SetGitHubToken = %v, want code %q", err, tt.wantCode)
			}
		})
	}
}

func TestCommitLogin(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	connect := func(email, login string) *sesame.User {
		u := MustCreateUser(t, db, email)
		if err := users.SetGitHubToken(ctx, u.ID, sesame.GitHubToken{Login: login, Sealed: []byte("sealed"), Last4: "1234"}); err != nil {
			t.Fatal(err)
		}
		return u
	}
	alice := connect("alice@example.com", "Alice-GH")
	carol := connect("carol@example.com", "carol-gh")
	if err := users.SetBanned(ctx, carol.ID, true); err != nil {
		t.Fatal(err)
	}
	dave := connect("dave@example.com", "dave-gh")
	if err := users.DeleteGitHubToken(ctx, dave.ID); err != nil {
		t.Fatal(err)
	}
	// A token-less user whose github_login is still set must not count either.
	erin := MustCreateUser(t, db, "erin@example.com")
	db.Pool.Exec(ctx, `UPDATE users SET github_login = 'erin-gh' WHERE id = $1`, erin.ID)

	for _, tt := range []struct {
		name        string
		userID      string
		githubLogin string
		want        string
	}{
		{name: "the user's own token", userID: alice.ID, githubLogin: "someone-else", want: "Alice-GH"},
		{name: "commenter who connected a token", githubLogin: "alice-gh", want: "Alice-GH"},
		{name: "commenter, upper case", githubLogin: "ALICE-GH", want: "Alice-GH"},
		{name: "user without token falls back to the commenter", userID: dave.ID, githubLogin: "Alice-GH", want: "Alice-GH"},
		{name: "user without token, unknown commenter", userID: dave.ID, githubLogin: "nobody"},
		{name: "banned user", userID: carol.ID},
		{name: "banned commenter", githubLogin: "carol-gh"},
		{name: "deleted token", githubLogin: "dave-gh"},
		{name: "login without token", userID: erin.ID, githubLogin: "erin-gh"},
		{name: "unknown user", userID: unknownID},
		{name: "invalid user id falls back to the commenter", userID: "bad", githubLogin: "alice-gh", want: "Alice-GH"},
		{name: "neither"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := users.CommitLogin(ctx, tt.userID, tt.githubLogin)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("CommitLogin(%q, %q) = %q, want %q", tt.userID, tt.githubLogin, got, tt.want)
			}
		})
	}
}
