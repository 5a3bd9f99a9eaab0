package gitops

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

// segment is what a host's path element may be made of, so that it can name
// a folder safely.
var segment = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// parseRemote checks that remoteURL is a plain http(s) URL of a repository:
// no credentials (they would end up in .git/config), no query, at least an
// owner and a name.
func parseRemote(remoteURL string) (*url.URL, error) {
	u, err := url.Parse(remoteURL)
	if err != nil {
		return nil, fmt.Errorf("remote url: %w", err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("remote url %q: scheme must be https", u.Redacted())
	case u.User != nil:
		return nil, fmt.Errorf("remote url %q: must not hold credentials", u.Redacted())
	case u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("remote url %q: want https://host/owner/name", u.Redacted())
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 {
		return nil, fmt.Errorf("remote url %q: want https://host/owner/name", u.Redacted())
	}
	for _, p := range parts {
		if !segment.MatchString(p) || strings.Trim(p, ".") == "" {
			return nil, fmt.Errorf("remote url %q: bad path element %q", u.Redacted(), p)
		}
	}
	return u, nil
}

// mirrorPath is where the mirror of u lives under dir:
// dir/{host}/{owner}/{name}.git, lower-cased since GitHub's names are not
// case-sensitive, with a port written as host_port.
func mirrorPath(dir string, u *url.URL) string {
	host := strings.ReplaceAll(strings.ToLower(u.Host), ":", "_")
	parts := strings.Split(strings.ToLower(strings.Trim(u.Path, "/")), "/")
	last := len(parts) - 1
	parts[last] = strings.TrimSuffix(parts[last], ".git") + ".git"
	return filepath.Join(append([]string{dir, host}, parts...)...)
}
