package pgtest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/sesame-works/sesame/postgres"
)

// Open returns Sesame's database, migrated, in a fresh database for t, closed when t ends.
func Open(t testing.TB) *postgres.DB {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return db
}
