package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/postgres"
)

// doctor prints every setting with its value (secrets masked) and where it came from, then checks
// the required settings, PostgreSQL, Redis and the sandbox, and lists the agents (where each CLI is,
// its version, whether its credential is set; a warning when none can run a task). It fails when any
// check fails.
func doctor(ctx context.Context, configPath string, w io.Writer) error {
	cfg, err := config.Load(config.Options{Path: configPath})
	if err != nil {
		return err
	}
	file := cfg.File()
	if file == "" {
		file = "(none)"
	}
	fmt.Fprintf(w, "Config file: %s\n\n", file)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tENV\tVALUE\tSOURCE")
	for _, v := range cfg.Describe() {
		src := string(v.Source)
		if v.Locked {
			src += " (locked)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Key, v.Env, v.Value, src)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nChecks:")
	failed := 0
	check := func(name string, err error) {
		if err != nil {
			failed++
			fmt.Fprintf(w, "  ✗ %s: %v\n", name, err)
			return
		}
		fmt.Fprintf(w, "  ✓ %s\n", name)
	}
	check("required settings", cfg.CheckRequired())

	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	check("postgres", checkPostgres(ctx, cfg.String(config.DatabaseURL), w))
	check("redis", checkRedis(ctx, cfg.String(config.RedisURL)))
	found := findAgents(cfg.String(config.AgentsInstallDir), exec.LookPath)
	check("sandbox", checkSandbox(ctx, cfg, w, found))
	// The agents are listed, not checked: a server may be set up before its agents are.
	fmt.Fprintln(w, "\nAgents:")
	if err := listAgents(context.WithoutCancel(ctx), w, cfg, found, cfg.String(config.SandboxProvider) == "docker"); err != nil {
		fmt.Fprintf(w, "  ! %v\n", err)
	}
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}

func checkPostgres(ctx context.Context, url string, w io.Writer) error {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		return err
	}
	version, pending, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  · schema version %d, %d migration(s) pending (applied by `sesame migrate` or at start)\n", version, pending)
	return nil
}

func checkRedis(ctx context.Context, url string) error {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	return c.Ping(ctx).Err()
}

// checkSandbox starts a secured sandbox of the configured provider, when it is the local one.
func checkSandbox(ctx context.Context, cfg *config.Config, w io.Writer, agents agentPaths) error {
	switch p := cfg.String(config.SandboxProvider); p {
	case "docker":
		dp, err := dockerSandbox(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		defer dp.Close()
		if err := dp.Check(ctx); err != nil {
			return err
		}
		fmt.Fprintf(w, "  · docker sandbox: the engine answers and image %s is there\n", cfg.String(config.SandboxDockerImage))
		return nil
	case "local":
	default:
		return fmt.Errorf("the %s sandbox provider is not available yet", p)
	}
	ok, err := localSandbox(cfg, slog.New(slog.DiscardHandler), agents).Check(ctx, cfg.String(config.TasksBaseDirectory))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  · local sandbox: %s\n", ok)
	return nil
}
