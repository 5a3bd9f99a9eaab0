package gitops

import (
	"context"
	"fmt"
	"strings"
)

// RemoteBranch returns the commit branch points to at remoteURL, authenticated by token, or "" when
// the remote has no such branch. A task resumed after its worker died asks it to learn whether its
// push had landed.
func RemoteBranch(ctx context.Context, remoteURL, token, branch string) (string, error) {
	if _, err := parseRemote(remoteURL); err != nil {
		return "", err
	}
	if err := checkBranchName(branch); err != nil {
		return "", err
	}
	out, err := gitRun{args: []string{"ls-remote", "--heads", "--", remoteURL, "refs/heads/" + branch}, token: token}.output(ctx)
	if err != nil {
		return "", networkError("look up "+branch+" at", remoteURL, err)
	}
	for _, line := range strings.Split(out, "\n") {
		sha, ref, ok := strings.Cut(line, "\t")
		if ok && ref == "refs/heads/"+branch {
			return sha, nil
		}
	}
	if strings.TrimSpace(out) != "" {
		return "", fmt.Errorf("look up %s: unexpected ls-remote output %q", branch, out)
	}
	return "", nil
}
