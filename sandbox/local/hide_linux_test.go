//go:build linux

package local_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-works/sesame/internal/sandboxtest"
	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/local"
)

// What a sandbox must not see even inside folders it sees: credential folders at the top of a
// read-only folder (an agent install under someone's home), and the server's own files named by
// Options.Hide (its config or key file under /etc). The files are world-readable here, so that only
// the sandbox's mounts, not file permissions, keep them out.
func TestHiddenPaths(t *testing.T) {
	agents := sandboxtest.TaskBase(t)
	if err := os.Chmod(agents, 0o755); err != nil {
		t.Fatal(err)
	}
	const secret = "hidden-secret-value"
	for path, content := range map[string]string{
		".ssh/id_ed25519":   secret,
		".aws/credentials":  secret,
		".config/gh/hosts":  secret,
		".netrc":            secret,
		".git-credentials":  secret,
		"claude/bin/claude": "#!/bin/sh\necho agent ran\n",
	} {
		p := filepath.Join(agents, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	key, err := os.CreateTemp("/etc", "sesame-hidden-key-*.pem")
	if err != nil {
		t.Fatal(err)
	}
	key.WriteString(secret)
	key.Close()
	t.Cleanup(func() { os.Remove(key.Name()) })
	if err := os.Chmod(key.Name(), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, secured := range []bool{false, true} {
		s := newSandboxWith(t, local.New(local.Options{ReadOnly: []string{agents}, Hide: []string{key.Name()}}),
			sandbox.Policy{Enabled: secured})
		var out bytes.Buffer
		script := `cd "$1"; for f in .ssh/id_ed25519 .aws/credentials .config/gh/hosts .netrc .git-credentials "$2"; do cat "$f"; done 2>&1
"$1/claude/bin/claude"; touch "$1/planted" 2>/dev/null && echo PLANTED || echo READ-ONLY`
		code, err := s.Exec(t.Context(), sandbox.ExecRequest{Argv: []string{"sh", "-c", script, "sh", agents, key.Name()}, Stdout: &out, Stderr: &out})
		if code != 0 || err != nil {
			t.Fatalf("secured=%v: Exec = %d, %v: %s", secured, code, err, out.String())
		}
		got := out.String()
		if strings.Contains(got, secret) {
			t.Errorf("secured=%v: a hidden file was read:\n%s", secured, got)
		}
		if !strings.Contains(got, "agent ran") || !strings.Contains(got, "READ-ONLY") {
			t.Errorf("secured=%v: the read-only folder is not usable, or is writable:\n%s", secured, got)
		}
	}
}
