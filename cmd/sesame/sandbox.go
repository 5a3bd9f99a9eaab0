package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/sandbox/local"
)

// localSandbox is the local provider as cfg configures it: the agents' install folder (AGENTS_DIR),
// and the agent CLIs and node found on the server's PATH (agents), readable in every sandbox, and the
// server's own files (home, working directory, config file, .env, App key) hidden from it.
func localSandbox(cfg *config.Config, logger *slog.Logger, agents agentPaths) *local.Provider {
	opts := local.Options{Hide: serverPaths(cfg), Logger: logger}
	if dir := cfg.String(config.AgentsInstallDir); dir != "" {
		if abs, err := filepath.Abs(dir); err == nil {
			opts.ReadOnly = append(opts.ReadOnly, abs)
		}
	}
	readOnly, extraPath := agents.sandboxPaths()
	opts.ReadOnly = append(opts.ReadOnly, readOnly...)
	opts.ExtraPath = append(opts.ExtraPath, extraPath...)
	return local.New(opts)
}

// hostMise is the mise executable the local provider's sandboxes run for the runtimes step: the one
// scripts/install-agents puts in AGENTS_DIR (bound read-only in every sandbox), else one on the
// server's PATH under /usr (a system folder every sandbox sees). "" lets the sandbox look "mise" up on
// its own PATH, as a container from the sandbox image does.
func hostMise(cfg *config.Config, local bool) string {
	if !local {
		return ""
	}
	if dir := cfg.String(config.AgentsInstallDir); dir != "" {
		if abs, err := filepath.Abs(filepath.Join(dir, "mise", "node_modules", ".bin", "mise")); err == nil {
			if _, err := os.Stat(abs); err == nil {
				return abs
			}
		}
	}
	if p, err := exec.LookPath("mise"); err == nil {
		if abs, err := filepath.Abs(p); err == nil && strings.HasPrefix(abs, "/usr/") {
			return abs
		}
	}
	return ""
}

// serverPaths are the paths of this server that no sandbox may see.
func serverPaths(cfg *config.Config) []string {
	var out []string
	add := func(p string) {
		if p == "" {
			return
		}
		if abs, err := filepath.Abs(p); err == nil {
			out = append(out, abs)
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		add(home)
	}
	if wd, err := os.Getwd(); err == nil {
		add(wd)
		add(filepath.Join(wd, ".env"))
	}
	add(cfg.File())
	add(cfg.String(config.GitHubPrivateKeyPath))
	return out
}

// sandboxPolicy is the admin's sandbox policy as it is now: the settings admins saved (shared by
// every node, reloaded when they change) over the environment, the config file and the defaults.
func (m *Main) sandboxPolicy(context.Context) (sesame.SandboxPolicy, error) {
	cfg := m.Live.Current()
	return sesame.SandboxPolicy{
		SecurityEnabled: cfg.Bool(config.SandboxSecurityEnabled),
		AllowDisable:    cfg.Bool(config.SandboxSecurityAllowDisable),
		AllowedDomains:  cfg.List(config.SandboxAllowedDomains),
		DeniedDomains:   cfg.List(config.SandboxDeniedDomains),
	}, nil
}
