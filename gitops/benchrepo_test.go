package gitops

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The benchmark repository: about the size sandbox-facts.md measured with
// (50,000 files in 5,200 directories, 5,000 commits). It is generated once
// with git fast-import and cached under os.TempDir(), keyed by benchRepoVersion:
// change the version when the generator changes.
const (
	benchRepoVersion = "v1"
	benchTopDirs     = 200 // a000 … a199
	benchSubDirs     = 25  // b00 … b24 in each
	benchFilesPerDir = 10  // f0.txt … f9.txt in each: 200*25*10 = 50,000 files
	benchCommits     = 5000
	benchEditsPer    = 10 // files changed by each commit after the first
)

// benchRepo returns the path of the cached bare benchmark repository,
// generating it when it is missing (about 40 s on 2 cores).
func benchRepo(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(os.TempDir(), "sesame-bench-repo", benchRepoVersion, "bench", "big.git")
	if _, err := os.Stat(filepath.Join(dir, "sesame-bench-complete")); err == nil {
		return dir
	}
	start := time.Now()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		tb.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".gen-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx := context.Background()
	mustGit(tb, ctx, "", "init", "--bare", "--initial-branch=main", tmp)

	cmd := exec.Command("git", "--git-dir="+tmp, "fast-import", "--quiet", "--done")
	cmd.Env = testGitEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	werr := writeBenchStream(stdin)
	stdin.Close()
	if err := cmd.Wait(); err != nil || werr != nil {
		tb.Fatalf("fast-import: %v %v: %s", err, werr, stderr.String())
	}
	// One pack with a bitmap, as a server would have.
	mustGit(tb, ctx, "", "--git-dir="+tmp, "repack", "-a", "-d", "-b", "-q")
	if err := os.WriteFile(filepath.Join(tmp, "sesame-bench-complete"), nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("generated %s in %v", dir, time.Since(start).Round(time.Millisecond))
	return dir
}

// writeBenchStream writes a git fast-import stream: a first commit with every
// file, then benchCommits-1 commits that each rewrite a line in benchEditsPer
// files. Deterministic, so every machine builds the same repository.
func writeBenchStream(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields(`the quick brown fox jumps over lazy dog func return error context
		package import struct interface string int byte slice map channel select defer go
		sesame agent commit push branch mirror checkout token workspace sandbox runner task`)
	var buf []byte
	content := func(lines int) []byte {
		buf = buf[:0]
		for range lines {
			n := 4 + rng.IntN(10)
			for j := range n {
				if j > 0 {
					buf = append(buf, ' ')
				}
				buf = append(buf, words[rng.IntN(len(words))]...)
			}
			buf = fmt.Appendf(buf, " %d\n", rng.Uint32())
		}
		return buf
	}
	path := func(i int) string {
		f := i % benchFilesPerDir
		b := (i / benchFilesPerDir) % benchSubDirs
		a := i / (benchFilesPerDir * benchSubDirs)
		return fmt.Sprintf("a%03d/b%02d/f%d.txt", a, b, f)
	}
	const total = benchTopDirs * benchSubDirs * benchFilesPerDir
	when := int64(1700000000)
	for c := range benchCommits {
		msg := fmt.Sprintf("commit %d", c)
		fmt.Fprintf(bw, "commit refs/heads/main\nmark :%d\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n",
			c+1, when+int64(c)*60, len(msg), msg)
		if c > 0 {
			fmt.Fprintf(bw, "from :%d\n", c)
		}
		if c == 0 {
			for i := range total {
				data := content(10 + rng.IntN(40))
				fmt.Fprintf(bw, "M 100644 inline %s\ndata %d\n", path(i), len(data))
				bw.Write(data)
				bw.WriteByte('\n')
			}
			gi := "*.log\nbuild/\n"
			fmt.Fprintf(bw, "M 100644 inline .gitignore\ndata %d\n%s\n", len(gi), gi)
		} else {
			for range benchEditsPer {
				data := content(10 + rng.IntN(40))
				fmt.Fprintf(bw, "M 100644 inline %s\ndata %d\n", path(rng.IntN(total)), len(data))
				bw.Write(data)
				bw.WriteByte('\n')
			}
		}
		bw.WriteByte('\n')
	}
	bw.WriteString("done\n")
	return bw.Flush()
}
