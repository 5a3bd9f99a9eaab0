package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

// TestIdentities: an identity is found by provider, issuer and subject (never by one of them alone),
// belongs to one user, goes with its user, and a user created with one is created whole or not at all.
func TestIdentities(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users := postgres.NewUserStore(db)
	ada := mustCreate(t, users, "Ada", "ada@example.com", sesame.RoleAdmin)
	bob := mustCreate(t, users, "Bob", "bob@example.com", sesame.RoleUser)
	id := sesame.Identity{Provider: "oidc", Issuer: "https://idp.example", Subject: "sub-1", Email: "Bob@Example.com"}
	verifiedAt := func(id string) time.Time {
		t.Helper()
		u, err := users.User(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return u.EmailVerifiedAt
	}

	if _, err := users.UserByIdentity(ctx, id); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Fatalf("unknown identity: %v, want ENOTFOUND", err)
	}
	if err := users.LinkIdentity(ctx, bob.ID, id); err != nil {
		t.Fatal(err)
	}
	if !verifiedAt(bob.ID).IsZero() {
		t.Error("an identity whose address the provider did not vouch for confirmed bob's address")
	}
	id.EmailVerified = true
	if err := users.LinkIdentity(ctx, bob.ID, id); err != nil {
		t.Fatalf("linking again to the same user: %v", err)
	}
	if verifiedAt(bob.ID).IsZero() {
		t.Error("a verified address linked: bob's address is still unconfirmed")
	}
	// Another address, even verified, confirms nothing of Ada's.
	if err := users.LinkIdentity(ctx, ada.ID, sesame.Identity{Provider: "oidc", Issuer: id.Issuer, Subject: "ada-sub",
		Email: "ada@elsewhere.example", EmailVerified: true}); err != nil {
		t.Fatal(err)
	}
	if !verifiedAt(ada.ID).IsZero() {
		t.Error("an identity with another address confirmed ada's")
	}
	if err := users.LinkIdentity(ctx, ada.ID, id); sesame.ErrorCode(err) != sesame.ECONFLICT {
		t.Fatalf("linking bob's identity to ada: %v, want ECONFLICT", err)
	}
	if err := users.LinkIdentity(ctx, "0190b5a4-0000-7000-8000-000000000000", sesame.Identity{Provider: "oidc", Issuer: "x", Subject: "y"}); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Fatalf("linking to an unknown user: %v, want ENOTFOUND", err)
	}
	if err := users.LinkIdentity(ctx, ada.ID, sesame.Identity{Provider: "oidc", Issuer: "https://idp.example"}); sesame.ErrorCode(err) != sesame.EINVALID {
		t.Fatalf("an identity without a subject: %v, want EINVALID", err)
	}
	got, err := users.UserByIdentity(ctx, sesame.Identity{Provider: "oidc", Issuer: "https://idp.example", Subject: "sub-1"})
	if err != nil || got.ID != bob.ID {
		t.Fatalf("UserByIdentity = %v, %v; want bob", got, err)
	}
	for _, other := range []sesame.Identity{
		{Provider: "other", Issuer: id.Issuer, Subject: id.Subject},
		{Provider: id.Provider, Issuer: "https://evil.example", Subject: id.Subject},
		{Provider: id.Provider, Issuer: id.Issuer, Subject: "sub-2"},
	} {
		if u, err := users.UserByIdentity(ctx, other); sesame.ErrorCode(err) != sesame.ENOTFOUND {
			t.Errorf("UserByIdentity(%+v) = %v, %v; want ENOTFOUND", other, u, err)
		}
	}

	// Created with an identity: both or neither.
	carol, err := users.CreateUserWithIdentity(ctx, sesame.User{Name: "Carol", Email: "Carol@Example.com"},
		sesame.Identity{Provider: "oidc", Issuer: id.Issuer, Subject: "sub-carol"})
	if err != nil {
		t.Fatal(err)
	}
	if carol.Role != sesame.RoleUser || carol.Email != "carol@example.com" || carol.PasswordHash != "" {
		t.Errorf("created %+v", carol)
	}
	if u, err := users.UserByIdentity(ctx, sesame.Identity{Provider: "oidc", Issuer: id.Issuer, Subject: "sub-carol"}); err != nil || u.ID != carol.ID {
		t.Errorf("carol's identity: %v, %v", u, err)
	}
	before := countUsers(t, users)
	if _, err := users.CreateUserWithIdentity(ctx, sesame.User{Name: "Dan", Email: "dan@example.com"}, id); sesame.ErrorCode(err) != sesame.ECONFLICT {
		t.Fatalf("creating a user with bob's identity: %v, want ECONFLICT", err)
	}
	if _, err := users.CreateUserWithIdentity(ctx, sesame.User{Name: "Bob 2", Email: "BOB@example.com"},
		sesame.Identity{Provider: "oidc", Issuer: id.Issuer, Subject: "sub-bob-2"}); sesame.ErrorCode(err) != sesame.ECONFLICT {
		t.Fatalf("creating a user with bob's email: %v, want ECONFLICT", err)
	}
	if after := countUsers(t, users); after != before {
		t.Errorf("a refused creation left a user: %d users, want %d", after, before)
	}
	if _, err := users.UserByIdentity(ctx, sesame.Identity{Provider: "oidc", Issuer: id.Issuer, Subject: "sub-bob-2"}); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("a refused creation left its identity: %v", err)
	}

	// Two first sign-ins of the same person at once make one user.
	var wg sync.WaitGroup
	made := make([]*sesame.User, 2)
	for i := range made {
		wg.Add(1)
		go func() {
			defer wg.Done()
			made[i], _ = users.CreateUserWithIdentity(ctx, sesame.User{Name: "Eve", Email: "eve@example.com"},
				sesame.Identity{Provider: "oidc", Issuer: id.Issuer, Subject: "sub-eve"})
		}()
	}
	wg.Wait()
	if (made[0] == nil) == (made[1] == nil) {
		t.Errorf("two concurrent creations: %v and %v, want exactly one", made[0], made[1])
	}

	// An identity goes with its user.
	if _, err := users.DeleteUser(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM user_identities WHERE subject = 'sub-1'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("bob's identities after deleting bob: %d, %v", n, err)
	}
}

func countUsers(t *testing.T, users *postgres.UserStore) int {
	t.Helper()
	n, err := users.CountUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
