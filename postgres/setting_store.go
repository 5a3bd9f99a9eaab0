package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	sesame "github.com/sesame-works/sesame"
)

// SettingStore implements sesame.SettingStore: the settings saved in the admin section.
type SettingStore struct {
	db *DB
}

var _ sesame.SettingEditor = (*SettingStore)(nil)

// NewSettingStore returns a store of settings in db.
func NewSettingStore(db *DB) *SettingStore { return &SettingStore{db: db} }

// saveSettingSQL saves setting $1 = $2 by $3, replacing any earlier value.
const saveSettingSQL = `INSERT INTO settings (key, value, updated_by) VALUES ($1, $2, $3)
	ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = now()`

// Settings returns every saved setting, keyed by setting key.
func (s *SettingStore) Settings(ctx context.Context) (map[string]string, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT key, value FROM settings`)
	settings := map[string]string{}
	var key, value string
	_, err := pgx.ForEachRow(rows, []any{&key, &value}, func() error {
		settings[key] = value
		return nil
	})
	if err != nil {
		return nil, wrapErr("select settings", err)
	}
	return settings, nil
}

// SaveSetting saves one setting's value, by whom.
func (s *SettingStore) SaveSetting(ctx context.Context, key, value, by string) error {
	if key == "" {
		return sesame.Errorf(sesame.EINVALID, "A setting needs a key.")
	}
	_, err := s.db.Pool.Exec(ctx, saveSettingSQL, key, value, by)
	return wrapErr("save setting", err)
}

// ApplySettings saves set and removes unset, by whom, in one transaction.
func (s *SettingStore) ApplySettings(ctx context.Context, set map[string]string, unset []string, by string) error {
	for key := range set {
		if key == "" {
			return sesame.Errorf(sesame.EINVALID, "A setting needs a key.")
		}
	}
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for key, value := range set {
			b.Queue(saveSettingSQL, key, value, by)
		}
		if len(unset) > 0 {
			b.Queue(`DELETE FROM settings WHERE key = ANY($1)`, unset)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return wrapErr("apply settings", err)
}
