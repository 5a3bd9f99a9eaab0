package local

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// dirs are the per-task folders a process's environment points at.
type dirs struct {
	home, tmp, work string
}

// environ builds a process's whole environment, sorted: the fixed allowlist (PATH, HOME, XDG_*,
// TMPDIR, locale, terminal, non-interactive switches), then specEnv, then reqEnv; a later layer wins
// on a shared key. Nothing comes from the host's environment.
func environ(extraPath []string, d dirs, specEnv, reqEnv map[string]string) []string {
	env := map[string]string{
		"PATH":                strings.Join(append(slices.Clone(extraPath), DefaultPath), ":"),
		"HOME":                d.home,
		"TMPDIR":              d.tmp,
		"PWD":                 d.work,
		"LANG":                "C.UTF-8",
		"TERM":                "dumb",
		"CI":                  "true",
		"GIT_TERMINAL_PROMPT": "0",
	}
	for _, x := range xdgDirs {
		env[x.env] = filepath.Join(d.home, x.path)
	}
	for _, layer := range []map[string]string{specEnv, reqEnv} {
		for k, v := range layer {
			env[k] = v
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// getenv returns the value of key in env (as built by environ).
func getenv(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

// lookPath finds the program argv0 names the way the process's own shell would: a name with a
// slash is taken as is (relative to dir when relative); a bare name is searched in path, the
// process's PATH (never the host's), skipping relative entries. Errors wrap exec.ErrNotFound.
func lookPath(argv0, path, dir string) (string, error) {
	if strings.Contains(argv0, "/") {
		if !filepath.IsAbs(argv0) {
			argv0 = filepath.Join(dir, argv0)
		}
		if err := executable(argv0); err != nil {
			return "", fmt.Errorf("%s: %w", argv0, err)
		}
		return argv0, nil
	}
	for _, d := range filepath.SplitList(path) {
		if !filepath.IsAbs(d) {
			continue
		}
		if p := filepath.Join(d, argv0); executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q not found in the sandbox's PATH %s: %w", argv0, path, exec.ErrNotFound)
}

// executable reports, as an error, why path is not an executable regular file.
func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fs.ErrPermission
	}
	return nil
}

// withProxy points every proxy variable a CLI may read at the in-sandbox relay.
func withProxy(env []string) []string {
	url := fmt.Sprintf("http://127.0.0.1:%d", ProxyPort)
	set := map[string]string{"NO_PROXY": "", "no_proxy": ""}
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"} {
		set[k] = url
	}
	out := make([]string, 0, len(env)+len(set))
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); set[k] == "" && !strings.Contains(strings.ToLower(k), "proxy") {
			out = append(out, kv)
		}
	}
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
