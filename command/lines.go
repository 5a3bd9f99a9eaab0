package command

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// splitLines drops a leading byte order mark and splits body into lines,
// reading \r\n and a lone \r as line ends.
func splitLines(body string) []string {
	body = strings.TrimPrefix(body, "\uFEFF")
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	return strings.Split(body, "\n")
}

// findCommand returns the text after the keyword on the first line that
// fires, and the lines of the rest of its paragraph.
func findCommand(lines []string) (rest string, more []string, found bool) {
	var b blocks
	for i, line := range lines {
		if b.hides(line) {
			continue
		}
		if rest, ok := commandRest(line); ok {
			return rest, paragraph(lines[i+1:]), true
		}
	}
	return "", nil, false
}

// paragraph returns the leading lines that continue a paragraph.
func paragraph(lines []string) []string {
	for i, line := range lines {
		if strings.TrimSpace(line) == "" || opensBlock(line) {
			return lines[:i]
		}
		if _, ok := commandRest(line); ok {
			return lines[:i]
		}
	}
	return lines
}

// commandRest reports whether line is a command, and returns what follows
// the keyword.
func commandRest(line string) (string, bool) {
	s, ok := unindent(line)
	if !ok || len(s) < len(keyword) || !equalFoldASCII(s[:len(keyword)], keyword) {
		return "", false
	}
	rest := s[len(keyword):]
	if r, _ := utf8.DecodeRuneInString(rest); rest != "" && !unicode.IsSpace(r) {
		return "", false
	}
	return rest, true
}

// blocks follows the fenced code blocks and HTML comments of a comment, line
// by line.
type blocks struct {
	fence     byte // '`' or '~' inside a fenced code block, else 0
	fenceLen  int
	inComment bool
}

// hides reports whether line is hidden from command parsing: a blockquote
// line, or a line that opens, closes or lies in a fenced code block or HTML
// comment.
func (b *blocks) hides(line string) bool {
	switch {
	case b.fence != 0:
		if closesFence(line, b.fence, b.fenceLen) {
			b.fence = 0
		}
		return true
	case b.inComment:
		b.inComment = !strings.Contains(line, "-->")
		return true
	case isQuote(line):
		return true
	}
	if c, n, ok := opensFence(line); ok {
		b.fence, b.fenceLen = c, n
		return true
	}
	if after, ok := opensComment(line); ok {
		b.inComment = !strings.Contains(after, "-->")
		return true
	}
	return false
}

// opensBlock reports whether line starts a blockquote, a fence or an HTML
// comment, which ends a paragraph.
func opensBlock(line string) bool {
	_, _, fence := opensFence(line)
	_, comment := opensComment(line)
	return fence || comment || isQuote(line)
}

// unindent removes the up to three spaces markdown allows before a block.
// It reports false for a line indented further (or by a tab): a code block.
func unindent(line string) (string, bool) {
	n := 0
	for n < 3 && n < len(line) && line[n] == ' ' {
		n++
	}
	if n < len(line) && (line[n] == ' ' || line[n] == '\t') {
		return "", false
	}
	return line[n:], true
}

func isQuote(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(line, " \t"), ">")
}

// opensFence reports whether line opens a fenced code block, with its
// character and length.
func opensFence(line string) (c byte, n int, ok bool) {
	s, ok := unindent(line)
	if !ok || s == "" || (s[0] != '`' && s[0] != '~') {
		return 0, 0, false
	}
	c = s[0]
	n = len(s) - len(strings.TrimLeft(s, string(c)))
	if n < 3 || (c == '`' && strings.ContainsRune(s[n:], '`')) {
		return 0, 0, false
	}
	return c, n, true
}

// closesFence reports whether line closes a fence of n characters c.
func closesFence(line string, c byte, n int) bool {
	s, ok := unindent(line)
	if !ok {
		return false
	}
	rest := strings.TrimLeft(s, string(c))
	return len(s)-len(rest) >= n && strings.TrimSpace(rest) == ""
}

// opensComment reports whether line starts an HTML comment, and returns the
// text after "<!--".
func opensComment(line string) (string, bool) {
	s, ok := unindent(line)
	if !ok {
		return "", false
	}
	return strings.CutPrefix(s, "<!--")
}
