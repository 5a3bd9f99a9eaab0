//go:build linux

package local

import (
	"github.com/sesame-works/sesame/sandbox"

	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkChownTree hands a 50,000-file workspace to the sandbox's user: "fresh" when every file
// is root's (a workspace checked out without a spare), "walk" when every file is already the
// user's but the tree is walked, and "handed" when a spare made it the user's in advance
// (gitops.Cache.Owner), which Create takes as handed over whole (only .git is walked). Root only.
//
// Run with: go test ./sandbox/local -run '^$' -bench ChownTree -benchtime 5x
func BenchmarkChownTree(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Fatal("needs root")
	}
	root := b.TempDir()
	for i := range 50000 {
		dir := filepath.Join(root, fmt.Sprintf("d%04d", i%5200))
		if i < 5200 {
			if err := os.Mkdir(dir, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)), []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("fresh", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if err := sandbox.ChownTree(root, 0, 0); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := sandbox.ChownTree(root, DefaultSandboxUID, DefaultSandboxUID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("walk", func(b *testing.B) {
		for b.Loop() {
			if err := sandbox.ChownTree(root, DefaultSandboxUID, DefaultSandboxUID); err != nil {
				b.Fatal(err)
			}
		}
	})
	if err := os.MkdirAll(filepath.Join(root, ".git", "refs", "heads"), 0o755); err != nil {
		b.Fatal(err)
	}
	b.Run("handed", func(b *testing.B) {
		for b.Loop() {
			if err := sandbox.ChownTree(sandbox.HandedOver(root, DefaultSandboxUID, DefaultSandboxUID), DefaultSandboxUID, DefaultSandboxUID); err != nil {
				b.Fatal(err)
			}
		}
	})
}
