//go:build linux

package local_test

import (
	"testing"

	"github.com/sesame-works/sesame/sandbox"
	"github.com/sesame-works/sesame/sandbox/local"
)

// BenchmarkSandboxStart measures what a task pays to start its agent: one Exec of /bin/true, from
// the call to its return, in a sandbox made once. "secured" adds the network namespace, the init
// stage with its proxy relay listening, Landlock and seccomp to bubblewrap's namespaces and mounts;
// "open" is bubblewrap alone. BenchmarkSandboxCreate is the Create before it (folders, ownership,
// the proxy).
//
// Run with: go test ./sandbox/local -run '^$' -bench Sandbox -benchtime 50x
func BenchmarkSandboxStart(b *testing.B) {
	for _, tc := range []struct {
		name   string
		policy sandbox.Policy
	}{
		{"open", sandbox.Policy{}},
		{"secured", sandbox.Policy{Enabled: true, AllowedDomains: []string{"api.anthropic.com"}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := newBenchSandbox(b, tc.policy)
			b.ResetTimer()
			for b.Loop() {
				if code, err := s.Exec(b.Context(), sandbox.ExecRequest{Argv: []string{"/bin/true"}}); code != 0 || err != nil {
					b.Fatalf("Exec = %d, %v", code, err)
				}
			}
		})
	}
}

func BenchmarkSandboxCreate(b *testing.B) {
	p := local.New(local.Options{})
	for b.Loop() {
		b.StopTimer()
		spec := benchSpec(b, sandbox.Policy{Enabled: true})
		b.StartTimer()
		sb, err := p.Create(b.Context(), spec)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		sb.Destroy(b.Context())
		b.StartTimer()
	}
}

func newBenchSandbox(b *testing.B, policy sandbox.Policy) sandbox.Sandbox {
	b.Helper()
	sb, err := local.New(local.Options{}).Create(b.Context(), benchSpec(b, policy))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sb.Destroy(b.Context()) })
	return sb
}

func benchSpec(b *testing.B, policy sandbox.Policy) sandbox.Spec {
	b.Helper()
	dir := b.TempDir()
	ws := dir + "/repo"
	if err := mkdir(ws); err != nil {
		b.Fatal(err)
	}
	return sandbox.Spec{TaskID: "bench", TaskDir: dir, Workspace: ws, Policy: policy}
}
