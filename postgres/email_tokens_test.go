package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

func TestEmailVerifiedOnCreate(t *testing.T) {
	ctx := context.Background()
	users := postgres.NewUserStore(MustOpen(t))
	admin, err := users.CreateFirstAdmin(ctx, sesame.User{Name: "Ada", Email: "ada@example.com", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if admin.EmailVerifiedAt.IsZero() {
		t.Error("the first admin's address is not confirmed")
	}
	bob, err := users.CreateUser(ctx, sesame.User{Name: "Bob", Email: "bob@example.com", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if !bob.EmailVerifiedAt.IsZero() {
		t.Error("a new user's address is confirmed without anyone confirming it")
	}
	at := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	carol, err := users.CreateUser(ctx, sesame.User{Name: "Carol", Email: "carol@example.com", PasswordHash: "h", EmailVerifiedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := users.User(ctx, carol.ID); !got.EmailVerifiedAt.Equal(at) {
		t.Errorf("confirmed at %v, want %v", got.EmailVerifiedAt, at)
	}
}

func TestEmailTokenVerifiesOnce(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users, tokens := postgres.NewUserStore(db), postgres.NewEmailTokens(db)
	bob := mustCreate(t, users, "Bob", "bob@example.com", sesame.RoleUser)

	token, err := tokens.NewEmailToken(ctx, bob.ID, sesame.EmailVerify)
	if err != nil {
		t.Fatal(err)
	}
	var stored []byte
	if err := db.Pool.QueryRow(ctx, `SELECT token_hash FROM email_tokens`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) != 32 || string(stored) == token {
		t.Errorf("stored %d bytes; want the 32-byte SHA-256, never the token", len(stored))
	}
	if _, err := tokens.ResetPassword(ctx, token, "new-hash"); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("a confirmation link reset a password: %v", err)
	}
	if got, err := tokens.EmailToken(ctx, token, sesame.EmailVerify); err != nil || !got.Usable(time.Now()) || got.UserID != bob.ID || got.Email != "bob@example.com" {
		t.Fatalf("EmailToken = %+v, %v", got, err)
	}

	// Ten tabs open the link at once: one confirms, the others are told it was used.
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := tokens.VerifyEmail(ctx, token)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch sesame.ErrorCode(err) {
		case "":
			ok++
		case sesame.ECONFLICT:
		default:
			t.Errorf("VerifyEmail: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d uses succeeded; want 1", ok)
	}
	if got, _ := users.User(ctx, bob.ID); got.EmailVerifiedAt.IsZero() {
		t.Error("bob's address is not confirmed")
	}
	if got, err := tokens.EmailToken(ctx, token, sesame.EmailVerify); err != nil || got.UsedAt.IsZero() || got.Usable(time.Now()) {
		t.Errorf("after use EmailToken = %+v, %v; want it used", got, err)
	}
	if _, err := tokens.VerifyEmail(ctx, "not-a-token"); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("unknown token: %v", err)
	}
}

func TestEmailTokenExpiresAndIsReplaced(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users, tokens := postgres.NewUserStore(db), postgres.NewEmailTokens(db)
	bob := mustCreate(t, users, "Bob", "bob@example.com", sesame.RoleUser)

	old, err := tokens.NewEmailToken(ctx, bob.ID, sesame.EmailPasswordReset)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tokens.EmailToken(ctx, old, sesame.EmailPasswordReset)
	if err != nil {
		t.Fatal(err)
	}
	if ttl := got.ExpiresAt.Sub(got.CreatedAt); ttl < 59*time.Minute || ttl > 61*time.Minute {
		t.Errorf("a reset link lasts %s; want an hour", ttl)
	}
	newer, err := tokens.NewEmailToken(ctx, bob.ID, sesame.EmailPasswordReset)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.ResetPassword(ctx, old, "h2"); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("the replaced link: %v; want ENOTFOUND", err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE email_tokens SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.ResetPassword(ctx, newer, "h2"); sesame.ErrorCode(err) != sesame.ECONFLICT {
		t.Errorf("the expired link: %v; want ECONFLICT", err)
	}
	if got, _ := users.User(ctx, bob.ID); got.PasswordHash != "h" {
		t.Errorf("password hash %q; an expired link changed it", got.PasswordHash)
	}

	// A link for an address the user no longer has is void.
	link, err := tokens.NewEmailToken(ctx, bob.ID, sesame.EmailVerify)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE users SET email = 'robert@example.com' WHERE id = $1`, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.VerifyEmail(ctx, link); sesame.ErrorCode(err) != sesame.ECONFLICT {
		t.Errorf("a link for the old address: %v; want ECONFLICT", err)
	}
	if _, err := tokens.NewEmailToken(ctx, "00000000-0000-0000-0000-000000000000", sesame.EmailVerify); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("a link for nobody: %v", err)
	}
}

func TestResetPasswordEndsSessions(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users, tokens := postgres.NewUserStore(db), postgres.NewEmailTokens(db)
	bob := mustCreate(t, users, "Bob", "bob@example.com", sesame.RoleUser)
	carol := mustCreate(t, users, "Carol", "carol@example.com", sesame.RoleUser)
	session(t, db, users, bob.ID, "bob-laptop", time.Hour)
	session(t, db, users, bob.ID, "bob-phone", time.Hour)
	session(t, db, users, carol.ID, "carol", time.Hour)
	token, err := tokens.NewEmailToken(ctx, bob.ID, sesame.EmailPasswordReset)
	if err != nil {
		t.Fatal(err)
	}
	other, err := tokens.NewEmailToken(ctx, carol.ID, sesame.EmailPasswordReset)
	if err != nil {
		t.Fatal(err)
	}
	u, err := tokens.ResetPassword(ctx, token, "new-hash")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != bob.ID || u.PasswordHash != "new-hash" || u.EmailVerifiedAt.IsZero() {
		t.Errorf("after reset: %+v", u)
	}
	if n, _ := users.CountSessions(ctx, bob.ID); n != 0 {
		t.Errorf("bob has %d sessions after the reset; want none", n)
	}
	if n, _ := users.CountSessions(ctx, carol.ID); n != 1 {
		t.Errorf("carol has %d sessions; want hers kept", n)
	}
	if _, err := tokens.ResetPassword(ctx, token, "again"); sesame.ErrorCode(err) != sesame.ECONFLICT {
		t.Errorf("second use: %v; want ECONFLICT", err)
	}
	if _, err := tokens.ResetPassword(ctx, other, "carols"); err != nil {
		t.Errorf("carol's own link: %v", err)
	}
	if _, err := tokens.SetEmailVerified(ctx, carol.ID); err != nil {
		t.Error(err)
	}
}

func TestSetEmailVerified(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	users, tokens := postgres.NewUserStore(db), postgres.NewEmailTokens(db)
	bob := mustCreate(t, users, "Bob", "bob@example.com", sesame.RoleUser)
	before, err := tokens.SetEmailVerified(ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !before.EmailVerifiedAt.IsZero() {
		t.Error("returned the user after the change; want before")
	}
	after, _ := users.User(ctx, bob.ID)
	if after.EmailVerifiedAt.IsZero() {
		t.Fatal("not confirmed")
	}
	again, err := tokens.SetEmailVerified(ctx, bob.ID)
	if err != nil || !again.EmailVerifiedAt.Equal(after.EmailVerifiedAt) {
		t.Errorf("confirming again moved the time: %v, %v", again, err)
	}
	if _, err := tokens.SetEmailVerified(ctx, "nobody"); sesame.ErrorCode(err) != sesame.ENOTFOUND {
		t.Errorf("unknown user: %v", err)
	}
}
