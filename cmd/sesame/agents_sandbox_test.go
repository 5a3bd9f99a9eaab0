//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-works/sesame/sandbox"
)

// TestAgentOnPathRunsInSandbox: a CLI installed the way `npm install -g` does it outside the system
// folders (a link on PATH into a node_modules folder) runs in a secured local sandbox, whose own PATH
// does not have it, at the absolute path the lookup resolved.
func TestAgentOnPathRunsInSandbox(t *testing.T) {
	// Outside /tmp (each sandbox has its own) and open to the sandbox's user, as /opt or /usr/local is.
	root, err := os.MkdirTemp("/var/tmp", "sesame-agent-path-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(root, "lib", "node_modules", "@anthropic-ai", "claude-code", "cli.js")
	if err := os.MkdirAll(filepath.Dir(cli), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cli, []byte("#!/usr/bin/env node\nconsole.log('2.1.197 (Claude Code)')\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../lib/node_modules/@anthropic-ai/claude-code/cli.js", filepath.Join(bin, "claude")); err != nil {
		t.Fatal(err)
	}

	found := findAgents("", pathOf(bin))
	exe, err := found.executable(mustEntry(t, "claude"))
	if err != nil || exe != cli {
		t.Fatalf("executable = %q, %v; want %q", exe, err, cli)
	}
	p := localSandbox(testConfig(t, nil), slog.New(slog.DiscardHandler), found)
	dir := t.TempDir()
	ws := filepath.Join(dir, "repo")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := p.Create(ctx, sandbox.Spec{TaskID: "agent-path", TaskDir: dir, Workspace: ws, Policy: sandbox.Policy{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy(context.Background())
	var out bytes.Buffer
	code, err := sb.Exec(ctx, sandbox.ExecRequest{Argv: []string{exe, "--version"}, Stdout: &out, Stderr: &out})
	if err != nil || code != 0 || !strings.Contains(out.String(), "2.1.197") {
		t.Fatalf("%s --version in the sandbox: exit %d, %v:\n%s", exe, code, err, &out)
	}

	// A hostile agent cannot change the install every later task runs, nor plant a file beside it.
	out.Reset()
	attack := fmt.Sprintf(`echo 'require("child_process")' >> %q && echo WROTE-CLI || echo NO-CLI
touch %q && echo PLANTED || echo NO-PLANT`, cli, filepath.Join(filepath.Dir(cli), "planted.js"))
	if _, err := sb.Exec(ctx, sandbox.ExecRequest{Argv: []string{"sh", "-c", attack}, Stdout: &out, Stderr: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "NO-CLI") || !strings.Contains(out.String(), "NO-PLANT") {
		t.Errorf("the agent wrote into the install bound from PATH:\n%s", &out)
	}
	if b, _ := os.ReadFile(cli); bytes.Contains(b, []byte("child_process")) {
		t.Errorf("the agent changed %s", cli)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cli), "planted.js")); err == nil {
		t.Errorf("the agent planted a file in the install")
	}
}
