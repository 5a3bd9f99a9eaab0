package sandbox

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	sesame "github.com/sesame-works/sesame"
)

// Validate checks what every provider needs of a Spec: a task id, absolute TaskDir and Workspace
// paths, and a well-formed Env. It does not touch the filesystem. Errors have code EINVALID.
func (s Spec) Validate() error {
	switch {
	case s.TaskID == "":
		return sesame.Errorf(sesame.EINVALID, "sandbox spec: task id is empty")
	case !filepath.IsAbs(s.TaskDir):
		return sesame.Errorf(sesame.EINVALID, "sandbox spec: task dir %q is not an absolute path", s.TaskDir)
	case !filepath.IsAbs(s.Workspace):
		return sesame.Errorf(sesame.EINVALID, "sandbox spec: workspace %q is not an absolute path", s.Workspace)
	case s.PreviewSocket != "" && !filepath.IsAbs(s.PreviewSocket):
		return sesame.Errorf(sesame.EINVALID, "sandbox spec: preview socket %q is not an absolute path", s.PreviewSocket)
	}
	return ValidateEnv(s.Env)
}

// IsSocket checks that path is a unix socket (not a symlink to one).
func IsSocket(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("preview socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return sesame.Errorf(sesame.EINVALID, "preview socket %s is not a socket", path)
	}
	return nil
}

// ValidateEnv checks that env can be passed to a process: keys non-empty without '=' or NUL,
// values without NUL. Errors have code EINVALID and name the key, never the value.
func ValidateEnv(env map[string]string) error {
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return sesame.Errorf(sesame.EINVALID, "environment variable name %q is invalid", k)
		}
		if strings.ContainsRune(v, 0) {
			return sesame.Errorf(sesame.EINVALID, "environment variable %s contains a NUL byte", k)
		}
	}
	return nil
}

// WorkDir joins workspace and an ExecRequest.Dir, refusing a dir that is absolute or leaves the
// workspace lexically ("..", "a/../.."). "" and "." give the workspace. It does not resolve
// symlinks; a provider that can see the filesystem checks those too. Errors have code EINVALID.
func WorkDir(workspace, dir string) (string, error) {
	if dir == "" || dir == "." {
		return workspace, nil
	}
	if !filepath.IsLocal(dir) {
		return "", sesame.Errorf(sesame.EINVALID, "working directory %q is not inside the workspace", dir)
	}
	return filepath.Join(workspace, dir), nil
}
