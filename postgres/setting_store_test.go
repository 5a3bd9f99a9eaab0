package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
)

func TestSettings(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	settings := postgres.NewSettingStore(db)

	got, err := settings.Settings(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("Settings on a new database = %v, %v; want none", got, err)
	}

	type saved struct {
		Value, By string
		At        time.Time
	}
	load := func(key string) saved {
		t.Helper()
		var s saved
		if err := db.Pool.QueryRow(ctx, `SELECT value, updated_by, updated_at FROM settings WHERE key = $1`, key).
			Scan(&s.Value, &s.By, &s.At); err != nil {
			t.Fatal(err)
		}
		return s
	}

	for _, tt := range []struct {
		name, key, value, by string
		want                 map[string]string
	}{
		{name: "save", key: "tasks.maxDuration", value: "30m", by: "root@example.com",
			want: map[string]string{"tasks.maxDuration": "30m"}},
		{name: "another", key: "registration.allowNewUsers", value: "true", by: "root@example.com",
			want: map[string]string{"tasks.maxDuration": "30m", "registration.allowNewUsers": "true"}},
		{name: "overwrite", key: "tasks.maxDuration", value: "1h", by: "other@example.com",
			want: map[string]string{"tasks.maxDuration": "1h", "registration.allowNewUsers": "true"}},
		{name: "empty value", key: "registration.allowNewUsers", value: "", by: "other@example.com",
			want: map[string]string{"tasks.maxDuration": "1h", "registration.allowNewUsers": ""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before saved
			if tt.name == "overwrite" {
				before = load(tt.key)
			}
			if err := settings.SaveSetting(ctx, tt.key, tt.value, tt.by); err != nil {
				t.Fatal(err)
			}
			got, err := settings.Settings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Settings (-want +got):\n%s", diff)
			}
			after := load(tt.key)
			if after.By != tt.by || !after.At.After(before.At) {
				t.Errorf("saved by %q at %v (before: %v), want by %q at a later time", after.By, after.At, before.At, tt.by)
			}
		})
	}

	if err := settings.SaveSetting(ctx, "", "x", "root"); sesame.ErrorCode(err) != sesame.EINVALID {
		t.Errorf("SaveSetting without a key = %v, want invalid", err)
	}
}
