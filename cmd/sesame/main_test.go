package main

import (
	"testing"

	"github.com/sesame-works/sesame/internal/sandboxtest"
)

// TestMain also serves the tests of package main_test, built into the same binary.
func TestMain(m *testing.M) { sandboxtest.Main(m) }
