package config

import "strings"

// suggest returns the known key or group closest to an unknown key, or ""
// when none is close. A key written as an environment variable name
// ("AI_API_KEY") suggests the setting that variable sets.
func suggest(unknown string) string {
	for _, s := range registry {
		for _, name := range s.EnvNames() {
			if strings.EqualFold(unknown, name) {
				return s.Key
			}
		}
	}
	u := strings.ToLower(unknown)
	limit := 1 + len(u)/5
	best, bestDist := "", limit+1
	consider := func(candidate string) {
		if d := editDistance(u, strings.ToLower(candidate)); d < bestDist {
			best, bestDist = candidate, d
		}
	}
	for _, s := range registry {
		parts := strings.Split(s.Key, ".")
		for i := 1; i < len(parts); i++ {
			consider(strings.Join(parts[:i], "."))
		}
		consider(s.Key)
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours cost one each.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// rows[i%3] holds row i of the usual dynamic-programming table.
	var rows [3][]int
	for i := range rows {
		rows[i] = make([]int, len(rb)+1)
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur, prev, prev2 := rows[i%3], rows[(i-1)%3], rows[(i+1)%3]
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
	}
	return rows[len(ra)%3][len(rb)]
}
