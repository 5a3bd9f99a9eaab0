package local

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEnviron(t *testing.T) {
	d := dirs{home: "/t/home", tmp: "/t/tmp", work: "/t/repo"}
	base := []string{
		"CI=true",
		"GIT_TERMINAL_PROMPT=0",
		"HOME=/t/home",
		"LANG=C.UTF-8",
		"PATH=" + DefaultPath,
		"PWD=/t/repo",
		"TERM=dumb",
		"TMPDIR=/t/tmp",
		"XDG_CACHE_HOME=/t/home/.cache",
		"XDG_CONFIG_HOME=/t/home/.config",
		"XDG_DATA_HOME=/t/home/.local/share",
		"XDG_RUNTIME_DIR=/t/home/.run",
		"XDG_STATE_HOME=/t/home/.local/state",
	}
	// with returns env with the given KEY=VALUE pairs set, sorted.
	with := func(env []string, kv ...string) []string {
		m := map[string]string{}
		for _, e := range append(slices.Clone(env), kv...) {
			k, v, _ := strings.Cut(e, "=")
			m[k] = v
		}
		var out []string
		for k, v := range m {
			out = append(out, k+"="+v)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name      string
		extraPath []string
		spec, req map[string]string
		want      []string
	}{
		{name: "allowlist only", want: base},
		{
			name:      "extra path goes first",
			extraPath: []string{"/opt/agents/claude/node_modules/.bin", "/opt/node/bin"},
			want:      with(base, "PATH=/opt/agents/claude/node_modules/.bin:/opt/node/bin:"+DefaultPath),
		},
		{
			name: "spec env is added",
			spec: map[string]string{"ANTHROPIC_API_KEY": "sk-ant", "DISABLE_TELEMETRY": "1"},
			want: with(base, "ANTHROPIC_API_KEY=sk-ant", "DISABLE_TELEMETRY=1"),
		},
		{
			name: "spec env overrides the allowlist",
			spec: map[string]string{"CI": "", "TERM": "xterm"},
			want: with(base, "CI=", "TERM=xterm"),
		},
		{
			name: "request env overrides spec env",
			spec: map[string]string{"A": "spec", "B": "spec"},
			req:  map[string]string{"B": "req", "C": "req"},
			want: with(base, "A=spec", "B=req", "C=req"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := environ(tt.extraPath, d, tt.spec, tt.req)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("environ() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLookPath(t *testing.T) {
	bin := t.TempDir()
	tool := filepath.Join(bin, "tool")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "data"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, argv0, path, dir, want string
		notFound                     bool
	}{
		{name: "found in PATH", argv0: "tool", path: "/nonexistent:" + bin, want: tool},
		{name: "not in PATH", argv0: "tool", path: "/usr/bin", notFound: true},
		{name: "relative PATH entries are skipped", argv0: "tool", path: ".:bin", dir: filepath.Dir(bin), notFound: true},
		{name: "not executable", argv0: "data", path: bin, notFound: true},
		{name: "directory is not a program", argv0: filepath.Base(bin), path: filepath.Dir(bin), notFound: true},
		{name: "absolute path", argv0: tool, path: "", want: tool},
		{name: "relative path with a slash is relative to dir", argv0: "./tool", dir: bin, want: tool},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lookPath(tt.argv0, tt.path, tt.dir)
			if tt.notFound {
				if err == nil {
					t.Fatalf("lookPath(%q) = %q, want an error", tt.argv0, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("lookPath(%q) = %q, %v; want %q", tt.argv0, got, err, tt.want)
			}
		})
	}
	if _, err := lookPath("no-such-tool", DefaultPath, ""); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("missing program: err = %v, want exec.ErrNotFound", err)
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		path, root string
		want       bool
	}{
		{"/t/repo", "/t/repo", true},
		{"/t/repo/a", "/t/repo", true},
		{"/t/repo2", "/t/repo", false},
		{"/t", "/t/repo", false},
		{"/t/home", "/t/repo", false},
	}
	for _, tt := range tests {
		if got := within(tt.path, tt.root); got != tt.want {
			t.Errorf("within(%q, %q) = %v, want %v", tt.path, tt.root, got, tt.want)
		}
	}
}
