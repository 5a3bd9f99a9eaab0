package runner_test

import (
	"os"
	"testing"

	"github.com/sesame-works/sesame/sandbox/local"
)

// TestMain lets this test binary be the sandbox's init stage, as the sesame binary is.
func TestMain(m *testing.M) {
	local.MaybeRunInit()
	os.Exit(m.Run())
}
