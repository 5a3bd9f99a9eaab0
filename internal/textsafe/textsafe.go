// Package textsafe makes text from a request safe to show where a reader trusts what they see: a pull
// request title, a commit subject, a branch name, a quote in a pull request body.
//
// It lives apart from the packages that use it (runner, gitops) because none of them may import another
// for it: the runner does not import command, and gitops imports only the domain and go-git. It uses only
// the standard library.
package textsafe

import "strings"

// StripInvisible returns s without the invisible format characters that can make text display other
// than it reads (the "Trojan Source" attack, CVE-2021-42574) or hide words from a reader:
//
//   - the bidirectional controls: embeddings and overrides U+202A–U+202E, isolates U+2066–U+2069,
//     and the marks U+200E, U+200F and U+061C;
//   - zero-width characters that split or join words unseen: U+200B ZERO WIDTH SPACE, U+2060 WORD
//     JOINER, the invisible operators U+2061–U+2064, U+FEFF (a byte order mark inside text) and
//     U+180E MONGOLIAN VOWEL SEPARATOR;
//   - the deprecated format characters U+206A–U+206F and the interlinear annotation characters
//     U+FFF9–U+FFFB;
//   - the tag characters U+E0000–U+E007F, invisible copies of ASCII that can smuggle a whole hidden
//     sentence.
//
// It keeps U+200C ZERO WIDTH NON-JOINER and U+200D ZERO WIDTH JOINER, which Persian, the Indic
// scripts and emoji sequences need, variation selectors, and right-to-left letters themselves: Hebrew
// or Arabic text still reads right to left, it only cannot reorder the text around it.
// When s holds none of these characters, s itself is returned and nothing is allocated.
func StripInvisible(s string) string {
	return strings.Map(func(r rune) rune {
		if invisible(r) {
			return -1
		}
		return r
	}, s)
}

// invisible reports whether r is one of the characters StripInvisible removes.
func invisible(r rune) bool {
	switch {
	case r == '\u061c', r == '\u180e', r == '\u200b', r == '\u200e', r == '\u200f', r == '\ufeff':
	case '\u202a' <= r && r <= '\u202e':
	case '\u2060' <= r && r <= '\u2064':
	case '\u2066' <= r && r <= '\u206f':
	case '\ufff9' <= r && r <= '\ufffb':
	case 0xe0000 <= r && r <= 0xe007f:
	default:
		return false
	}
	return true
}
