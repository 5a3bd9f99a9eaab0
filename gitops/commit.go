package gitops

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Signature is the author and committer of a commit.
type Signature struct{ Name, Email string }

// CoAuthorTrailer is the trailer Commit adds when asked to.
const CoAuthorTrailer = "Co-authored-by: Sesame <agent@sesame.works>"

// Commit stages every change in dir's working tree (new, modified and
// deleted files; ignored files stay out, as .gitignore and .git/info/exclude
// say) and commits it on HEAD with go-git, with sig as author and committer
// and message as the message, plus CoAuthorTrailer when coAuthor is set.
// A clean tree makes no commit and returns changed=false.
//
// go-git runs no hook, filter or fsmonitor that the workspace's configuration
// might name, which matters since an agent had the workspace to itself.
func Commit(dir string, sig Signature, message string, coAuthor bool) (hash string, changed bool, err error) {
	if strings.TrimSpace(sig.Name) == "" || strings.TrimSpace(sig.Email) == "" {
		return "", false, errors.New("commit: signature needs a name and an email")
	}
	repo, err := openRepo(dir)
	if err != nil {
		return "", false, fmt.Errorf("commit in %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", false, fmt.Errorf("commit in %s: %w", dir, err)
	}
	// go-git's worktree filesystem refuses to read inside .git, so it never
	// sees .git/info/exclude by itself (v5.19).
	if wt.Excludes, err = infoExclude(dir); err != nil {
		return "", false, fmt.Errorf("commit in %s: %w", dir, err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", false, fmt.Errorf("commit in %s: stage: %w", dir, err)
	}
	if coAuthor {
		message = withTrailer(message, CoAuthorTrailer)
	}
	who := &object.Signature{Name: sig.Name, Email: sig.Email, When: time.Now()}
	h, err := wt.Commit(message, &git.CommitOptions{Author: who, Committer: who})
	if errors.Is(err, git.ErrEmptyCommit) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("commit in %s: %w", dir, err)
	}
	return h.String(), true, nil
}

// openRepo opens the repository of the working tree dir with go-git, its
// alternates (the mirror) allowed at any absolute path.
func openRepo(dir string) (*git.Repository, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st := filesystem.NewStorageWithOptions(osfs.New(filepath.Join(dir, ".git")), cache.NewObjectLRUDefault(),
		filesystem.Options{AlternatesFS: osfs.New("/", osfs.WithBoundOS())})
	return git.Open(st, osfs.New(dir))
}

// infoExclude reads the patterns of dir/.git/info/exclude.
func infoExclude(dir string) ([]gitignore.Pattern, error) {
	b, err := os.ReadFile(filepath.Join(dir, ".git", "info", "exclude"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var ps []gitignore.Pattern
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "#") {
			ps = append(ps, gitignore.ParsePattern(line, nil))
		}
	}
	return ps, nil
}

// trailerLine is a "Token: value" line of a trailer block.
var trailerLine = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*: \S`)

// withTrailer appends trailer to message unless it is there already: to the
// message's trailer block if its last paragraph is one, else after a blank
// line. The result ends with one newline.
func withTrailer(message, trailer string) string {
	message = strings.TrimRight(message, " \t\r\n")
	lines := strings.Split(message, "\n")
	for _, l := range lines {
		if strings.EqualFold(strings.TrimSpace(l), trailer) {
			return message + "\n"
		}
	}
	if message == "" {
		return trailer + "\n"
	}
	// The last paragraph: is it all trailers (and not the subject)?
	start := len(lines)
	for start > 0 && strings.TrimSpace(lines[start-1]) != "" {
		start--
	}
	block := start > 0
	for _, l := range lines[start:] {
		block = block && trailerLine.MatchString(l)
	}
	if block {
		return message + "\n" + trailer + "\n"
	}
	return message + "\n\n" + trailer + "\n"
}
