package command

import (
	"strings"
	"unicode"
)

// maxSuggest is the largest edit distance at which a word is taken for a typo of a command word or
// a flag, and "did you mean" names it.
const maxSuggest = 2

// flags are the flags Sesame knows, in the order "did you mean" prefers them.
var flags = []string{flagAgent, flagModel, flagBase, flagBudget}

// commandWord reports whether instruction is one of the command words, in any ASCII case.
func commandWord(instruction string) (Kind, bool) {
	for _, k := range commands {
		if equalFoldASCII(instruction, string(k)) {
			return k, true
		}
	}
	return "", false
}

// nearCommand returns the command word that instruction, a single word that is not one, is a typo
// of: the nearest within maxSuggest edits (ignoring ASCII case), the first of commands on a tie.
func nearCommand(instruction string) (string, bool) {
	if strings.IndexFunc(instruction, unicode.IsSpace) >= 0 {
		return "", false
	}
	words := make([]string, len(commands))
	for i, k := range commands {
		words[i] = string(k)
	}
	return nearest(lowerASCII(instruction), words)
}

// nearFlag returns the flag that name, a flag Sesame does not know, is a typo of.
func nearFlag(name string) (string, bool) {
	return nearest(name, flags)
}

// nearest returns the first of words at the least edit distance from s, when that is 1 to
// maxSuggest.
func nearest(s string, words []string) (string, bool) {
	best, bestDist := "", maxSuggest+1
	for _, w := range words {
		if d := distance(s, w, maxSuggest); d > 0 && d < bestDist {
			best, bestDist = w, d
		}
	}
	return best, best != ""
}

// distance is the Damerau-Levenshtein distance between a and b in runes (the optimal string
// alignment variant: insertions, deletions, substitutions and transpositions of two neighbours),
// or limit+1 when it is larger than limit.
func distance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if n := len(ra) - len(rb); n > limit || -n > limit {
		return limit + 1
	}
	// d[i][j] is the distance between ra[:i] and rb[:j].
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return min(d[len(ra)][len(rb)], limit+1)
}

// lowerASCII is s with its ASCII letters in lower case.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = toLowerASCII(c)
	}
	return string(b)
}
