// Package sandboxtest is what tests of the sandbox providers share: what a test binary that runs the
// local sandbox needs (to be the sandbox's init stage, as the sesame binary is, and task folders the
// sandbox's user can reach), and Contract, the one table of contract cases every provider passes.
package sandboxtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sesame-works/sesame/sandbox/local"
)

// Main is a TestMain for such a package: the test binary runs the sandbox's init or exec stage
// when bubblewrap starts it as one, and its tests otherwise.
func Main(m *testing.M) {
	local.MaybeRunInit()
	os.Exit(m.Run())
}

// TaskBase is a fresh TASK_DIR_BASE for a test: a folder whose parent the sandbox's user may pass
// through (0711), as through /tmp in production; the test's own temporary folders are closed to
// others.
func TaskBase(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		tb.Fatal(err)
	}
	return dir
}
