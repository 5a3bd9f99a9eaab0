package docker_test

import (
	"testing"

	"github.com/sesame-works/sesame/internal/sandboxtest"
	"github.com/sesame-works/sesame/sandbox"
)

// TestContract runs the contract's shared cases against the docker provider, with the security
// policy on and off.
func TestContract(t *testing.T) {
	for _, secured := range []bool{true, false} {
		name := "secured"
		if !secured {
			name = "unsecured"
		}
		t.Run(name, func(t *testing.T) {
			p := newProvider(t, "test-contract")
			sandboxtest.Contract(t, func(t *testing.T, spec sandbox.Spec) (sandbox.Sandbox, error) {
				spec.Policy = sandbox.Policy{Enabled: secured}
				return p.Create(t.Context(), spec)
			})
			t.Run("preview", func(t *testing.T) {
				sandboxtest.Preview(t, func(t *testing.T, spec sandbox.Spec) (sandbox.Sandbox, error) {
					spec.Policy = sandbox.Policy{Enabled: secured}
					return p.Create(t.Context(), spec)
				})
			})
		})
	}
}
