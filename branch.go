package sesame

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxBranch is the longest branch name a request may name, in bytes.
const maxBranch = 200

// CheckBranch reports why s cannot be the name of a branch to start a task from, or nil when it can.
// The empty name is valid: it means the repository's default branch. The error's message is a
// sentence fragment a user can act on, with the name quoted and shortened.
//
// The rules are git's (git check-ref-format --branch): no "..", no "@{", not "@" or "HEAD", no
// ASCII control character, space or any of ~ ^ : ? * [ \, no leading "-", no leading, trailing or
// doubled "/", no part that starts with "." or ends with ".lock", no trailing ".". Sesame adds a
// limit of 200 bytes and refuses the invisible characters git lets through (format characters such
// as a right-to-left override, and white space other than the ASCII space, which git refuses).
func CheckBranch(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > maxBranch {
		return fmt.Errorf("a branch name must be at most %d bytes long; this one has %d", maxBranch, len(s))
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("a branch name must be valid UTF-8 text")
	}
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f || r == ' ' || strings.ContainsRune(`~^:?*[\`, r):
			return fmt.Errorf("%s cannot be a branch name: it holds %s (spaces, control characters and ~ ^ : ? * [ \\ are not allowed)",
				quoteModel(s), quoteModel(string(r)))
		case !unicode.IsPrint(r):
			return fmt.Errorf("%s cannot be a branch name: it holds the invisible character %U", quoteModel(s), r)
		}
	}
	if why := branchRule(s); why != "" {
		return fmt.Errorf("%s cannot be a branch name: %s", quoteModel(s), why)
	}
	return nil
}

// branchRule is the rule of git's that s, free of forbidden characters, breaks; "" for none.
func branchRule(s string) string {
	switch {
	case s[0] == '-':
		return "it starts with a dash"
	case s == "@" || s == "HEAD":
		return "git reserves that name"
	case strings.Contains(s, ".."):
		return `it holds ".."`
	case strings.Contains(s, "@{"):
		return `it holds "@{"`
	case strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "//"):
		return `it starts or ends with "/", or holds "//"`
	case strings.HasSuffix(s, "."):
		return `it ends with "."`
	}
	for part := range strings.SplitSeq(s, "/") {
		switch {
		case strings.HasPrefix(part, "."):
			return `a part of it starts with "."`
		case strings.HasSuffix(part, ".lock"):
			return `a part of it ends with ".lock"`
		}
	}
	return ""
}
