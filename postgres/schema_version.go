package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"path"

	"github.com/pressly/goose/v3"
)

// SchemaVersion returns the highest migration applied to the database and the highest this binary
// embeds. It reads goose's table directly, without the migration lock, so a migration running
// elsewhere does not hold it up. A database newer than the binary (applied > latest) was migrated by
// a newer Sesame.
func (db *DB) SchemaVersion(ctx context.Context) (applied, latest int64, err error) {
	latest, err = latestMigration()
	if err != nil {
		return 0, 0, err
	}
	err = db.Pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&applied)
	if err != nil {
		return 0, latest, wrapErr("schema version", err)
	}
	return applied, latest, nil
}

// latestMigration is the version of the newest embedded migration.
func latestMigration() (int64, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, f := range files {
		v, err := goose.NumericComponent(path.Base(f))
		if err != nil {
			return 0, fmt.Errorf("migration %s: %w", f, err)
		}
		latest = max(latest, v)
	}
	return latest, nil
}
