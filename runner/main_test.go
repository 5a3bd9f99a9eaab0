package runner_test

import (
	"testing"

	"github.com/sesame-works/sesame/internal/sandboxtest"
)

func TestMain(m *testing.M) { sandboxtest.Main(m) }
