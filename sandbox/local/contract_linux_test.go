//go:build linux

package local_test

import (
	"maps"
	"syscall"
	"testing"

	"github.com/sesame-works/sesame/internal/sandboxtest"
	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/local"
)

// TestContract runs the contract's shared cases against the local provider, with the security
// policy on and off.
func TestContract(t *testing.T) {
	for _, secured := range []bool{true, false} {
		name := "secured"
		if !secured {
			name = "unsecured"
		}
		t.Run(name, func(t *testing.T) {
			p := local.New(local.Options{KillGrace: testGrace})
			sandboxtest.Contract(t, func(t *testing.T, spec sandbox.Spec) (sandbox.Sandbox, error) {
				// The marker lets the cleanup find and kill whatever a failed case left running.
				marker := randomHex(t)
				spec.Env = maps.Clone(spec.Env)
				spec.Env[markerKey] = marker
				spec.Policy = sandbox.Policy{Enabled: secured}
				t.Cleanup(func() {
					for _, pid := range markedProcesses(marker) {
						_ = syscall.Kill(pid, syscall.SIGKILL)
					}
				})
				return p.Create(t.Context(), spec)
			})
		})
	}
	// Previews need the sandbox's own network namespace: with security on only.
	t.Run("secured/preview", func(t *testing.T) {
		p := local.New(local.Options{KillGrace: testGrace})
		sandboxtest.Preview(t, func(t *testing.T, spec sandbox.Spec) (sandbox.Sandbox, error) {
			spec.Policy = sandbox.Policy{Enabled: true}
			return p.Create(t.Context(), spec)
		})
	})
}
