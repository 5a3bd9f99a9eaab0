package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sesame-works/sesame/sandbox/local"
)

// TestMain lets this test binary be the sandbox's init stage, as the sesame binary is, for the tests
// that run Main in-process.
func TestMain(m *testing.M) {
	local.MaybeRunInit()
	os.Exit(m.Run())
}

// taskBase is a TASK_DIR_BASE for a test: a fresh folder whose parent the sandbox's user may pass
// through, as through /tmp in production.
func taskBase(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		tb.Fatal(err)
	}
	return dir
}
