package gitops

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Stat returns the diff stats of dir's HEAD against base, as a pull request
// shows them: files changed, lines inserted and deleted since the merge base
// of base and HEAD. base is a branch of origin ("main", also found as
// refs/remotes/origin/main), any other revision, or "" for origin's HEAD.
//
// Like Push, it reads the workspace's refs with go-git and runs git in an
// isolated repository, so nothing the agent left in .git/config runs.
func Stat(ctx context.Context, dir, base string) (files, insertions, deletions int, err error) {
	repo, err := openRepo(dir)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("diff stat in %s: %w", dir, err)
	}
	from, err := resolveBase(repo, base)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("diff stat: base %q: %w", base, err)
	}
	head, err := repo.ResolveRevision("HEAD")
	if err != nil {
		return 0, 0, 0, fmt.Errorf("diff stat: HEAD: %w", err)
	}
	gitDir, err := isolatedGitDir(ctx, dir)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("diff stat: %w", err)
	}
	defer os.RemoveAll(gitDir)
	args := []string{"diff", "--shortstat", "--no-ext-diff", "--no-textconv", from.String() + "..." + head.String()}
	out, err := gitRun{dir: gitDir, args: args}.output(ctx)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("diff stat: %w", err)
	}
	files, insertions, deletions = parseShortstat(out)
	return files, insertions, deletions, nil
}

// resolveBase finds base among origin's branches first, as Checkout names
// them, then as any revision.
func resolveBase(repo *git.Repository, base string) (*plumbing.Hash, error) {
	if base == "" {
		base = "HEAD"
	}
	if ref, err := repo.Reference(plumbing.NewRemoteReferenceName("origin", base), true); err == nil {
		h := ref.Hash()
		return &h, nil
	}
	if base == "HEAD" {
		return nil, fmt.Errorf("no origin/HEAD")
	}
	return repo.ResolveRevision(plumbing.Revision(base))
}

var (
	shortFiles = regexp.MustCompile(`(\d+) files? changed`)
	shortIns   = regexp.MustCompile(`(\d+) insertions?\(\+\)`)
	shortDel   = regexp.MustCompile(`(\d+) deletions?\(-\)`)
)

// parseShortstat reads " 3 files changed, 10 insertions(+), 2 deletions(-)";
// either count may be missing, and a diff without changes prints nothing.
func parseShortstat(s string) (files, insertions, deletions int) {
	n := func(re *regexp.Regexp) int {
		if m := re.FindStringSubmatch(s); m != nil {
			v, _ := strconv.Atoi(m[1])
			return v
		}
		return 0
	}
	return n(shortFiles), n(shortIns), n(shortDel)
}
