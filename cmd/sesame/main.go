// Command sesame runs Sesame: `sesame serve` starts the web server and/or the worker, `sesame migrate`
// applies the database migrations, `sesame doctor` shows every setting, checks the services and lists
// the agents, and `sesame healthcheck` asks the running server whether it is up.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sesame-works/sesame/sandbox/docker"
	"github.com/sesame-works/sesame/sandbox/local"
)

const usage = `Usage: sesame <command> [flags]

Commands:
  serve        run Sesame: --role all (default), web (webhooks and pages) or worker (runs tasks)
  migrate      apply the database migrations and exit
  doctor       show every setting with where its value comes from, check PostgreSQL, Redis and the
               sandbox, and list the agents (where each CLI is, its version, whether its credential is set)
  healthcheck  ask the server running on this host (LISTEN_ADDR) for /healthz; fails unless it answers
  version      print the version

Flags of every command:
  --config PATH   config file (default: config.json, config.jsonc, config.yaml or config.toml in the working directory)
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// Inside a sandbox this binary is its init stage, and nothing else.
	local.MaybeRunInit()
	docker.MaybeRunInit()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sesame:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("sesame "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "config file path")
	role := fs.String("role", RoleAll, "with serve: all, web or worker")
	switch cmd {
	case "serve", "migrate", "doctor", "healthcheck":
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "sesame", version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return flag.ErrHelp
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s takes no arguments, got %q", cmd, fs.Args())
	}

	switch cmd {
	case "serve":
		m := &Main{Role: *role, ConfigPath: *configPath, Stderr: stderr}
		if err := m.Open(ctx); err != nil {
			m.Close()
			return err
		}
		defer m.Close()
		return m.Run(ctx)
	case "migrate":
		return migrate(ctx, *configPath, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, *configPath, stdout)
	default:
		return doctor(ctx, *configPath, stdout)
	}
}
