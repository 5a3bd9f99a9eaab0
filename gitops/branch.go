package gitops

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/sesame-works/sesame/internal/textsafe"
)

// maxSlug is the longest the words of an instruction may make a branch name.
const maxSlug = 40

// BranchName returns the branch of a task: "sesame/<issue>-<slug>-<suffix>",
// or "sesame/<slug>-<suffix>" for issue 0 (a web task). The slug is the
// instruction's first ASCII words, lower-cased and joined by dashes, at most
// 40 characters ("task" when there are none); the suffix is the last 6 hex
// digits of taskID, which keeps two tasks with the same words apart. (The
// last, not the first: task ids are UUIDv7, whose first digits are a
// timestamp shared by every task of the same few hours.)
// The result is always a valid git branch name. Invisible characters
// (textsafe.StripInvisible) are removed before the words are read, so that
// "ad\u200bmin" gives "admin", as it reads, not "ad-min".
func BranchName(issue int, instruction, taskID string) string {
	var b strings.Builder
	b.WriteString("sesame/")
	if issue > 0 {
		b.WriteString(strconv.Itoa(issue) + "-")
	}
	b.WriteString(slug(textsafe.StripInvisible(instruction)))
	b.WriteString("-" + suffix(taskID))
	return b.String()
}

// slug is the first words of s made of ASCII letters and digits,
// lower-cased, joined by dashes, at most maxSlug characters.
func slug(s string) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	})
	out := ""
	for _, w := range words {
		switch {
		case out == "" && len(w) > maxSlug:
			return w[:maxSlug]
		case out == "":
			out = w
		case len(out)+1+len(w) <= maxSlug:
			out += "-" + w
		default:
			return out
		}
	}
	if out == "" {
		return "task"
	}
	return out
}

// suffix is the last 6 hex digits of id, or of its SHA-256 when it has too
// few.
func suffix(id string) string {
	var hexd []byte
	for _, r := range strings.ToLower(id) {
		if '0' <= r && r <= '9' || 'a' <= r && r <= 'f' {
			hexd = append(hexd, byte(r))
		}
	}
	if len(hexd) < 6 || len(hexd) < len(strings.ReplaceAll(id, "-", "")) {
		sum := sha256.Sum256([]byte(id))
		return hex.EncodeToString(sum[:3])
	}
	return string(hexd[len(hexd)-6:])
}

// checkBranchName applies git check-ref-format's rules to refs/heads/{name}
// (and rejects a leading dash, which --branch also does), so that a name can
// be put on a command line safely.
func checkBranchName(name string) error {
	bad := func(why string) error { return fmt.Errorf("branch name %q: %s", name, why) }
	switch {
	case name == "" || name == "@":
		return bad("empty or @")
	case strings.HasPrefix(name, "-"):
		return bad("starts with a dash")
	case strings.HasSuffix(name, "/") || strings.HasSuffix(name, "."):
		return bad("ends with / or .")
	case strings.Contains(name, "..") || strings.Contains(name, "//") || strings.Contains(name, "@{"):
		return bad("contains .., // or @{")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return bad("contains a space, a control character or one of ~^:?*[\\")
		}
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return bad("a part starts with . or ends with .lock")
		}
	}
	return nil
}
