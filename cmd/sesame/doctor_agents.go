package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/config"
)

// versionTimeout bounds each `<cli> --version` that doctor runs: a CLI that hangs is reported, not
// waited for. The first run of Copilot CLI unpacks itself (about 235 MB, into ~/.cache/copilot of the
// user running doctor), which took 9 s on a 2-core machine.
const versionTimeout = 20 * time.Second

// listAgents prints, for every agent of the catalog, whether Sesame can run it, where its CLI is on
// this host and which version it reports (`<cli> --version`, run in the server's environment), and
// whether a system-wide credential for it is set (never its value). The error says that no agent is
// ready: runnable, installed and with a credential. With the docker provider the CLIs of the sandbox image
// run instead, so only the credentials count.
func listAgents(ctx context.Context, w io.Writer, cfg *config.Config, found agentPaths, inImage bool) error {
	ready := 0
	for _, e := range agent.Catalog() {
		var parts []string
		if !e.Runnable() {
			parts = append(parts, "Sesame cannot run it yet")
		}
		installed := inImage
		if inImage {
			parts = append(parts, "the sandbox image's CLI")
		} else if exe, err := found.executable(e); err != nil {
			parts = append(parts, fmt.Sprintf("not installed (install %s: scripts/install-agents)", e.Install()))
		} else {
			installed = true
			parts = append(parts, exe, cliVersion(ctx, exe, e))
		}
		set := credentialsSet(cfg, e)
		if len(set) > 0 {
			parts = append(parts, "credential "+strings.Join(set, ", ")+" set")
		} else {
			parts = append(parts, "no credential (set "+strings.Join(e.Keys, " or ")+")")
		}
		if e.Runnable() && installed && len(set) > 0 {
			ready++
		}
		fmt.Fprintf(w, "  · %s (%s): %s\n", e.Title, e.Name, strings.Join(parts, "; "))
	}
	if ready == 0 {
		return errors.New("no agent can run a task: install one and set its credential")
	}
	return nil
}

// cliVersion runs `exe --version` and describes what it printed against e's pinned version.
func cliVersion(ctx context.Context, exe string, e agent.Entry) string {
	ctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "--version")
	cmd.WaitDelay = time.Second // a child that keeps stdout open does not hold doctor
	var out bytes.Buffer
	cmd.Stdout = &out // stderr holds warnings (Codex's about its home), not the version
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return fmt.Sprintf("--version did not answer within %s", versionTimeout)
	case err != nil:
		return fmt.Sprintf("--version failed (%v)", err)
	}
	// What the pinned versions print: "2.1.197 (Claude Code)", "codex-cli 0.169.0", "0.61.0",
	// "GitHub Copilot CLI 1.0.102." and a line of advice, "1.18.33".
	first, _, _ := strings.Cut(strings.TrimSpace(out.String()), "\n")
	if !strings.Contains(first, e.Version) {
		return fmt.Sprintf("version %q, Sesame is tested with %s", first, e.Version)
	}
	return "version " + e.Version
}

// credentialsSet lists the keys of e (env names) whose system-wide setting has a value.
func credentialsSet(cfg *config.Config, e agent.Entry) []string {
	var set []string
	for _, env := range e.Keys {
		if key, ok := settingOf(env); ok && cfg.String(key) != "" {
			set = append(set, env)
		}
	}
	return set
}
