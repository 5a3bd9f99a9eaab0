package main

import (
	"context"
	"fmt"
	"io"

	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/postgres"
)

// migrate applies every pending migration.
func migrate(ctx context.Context, configPath string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(config.Options{Path: configPath})
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.String(config.DatabaseURL))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx, newLogger(stderr, cfg)); err != nil {
		return err
	}
	version, _, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database at schema version %d\n", version)
	return nil
}
