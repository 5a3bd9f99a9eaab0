package command

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{"equal", "stop", "stop", 0},
		{"substitution", "stap", "stop", 1},
		{"insertion", "stp", "stop", 1},
		{"deletion", "stoop", "stop", 1},
		{"transposition is one edit", "stpo", "stop", 1},
		{"two transpositions", "tsop", "stpo", 2},
		{"runes, not bytes", "stöp", "stop", 1},
		{"empty is capped", "", "help", 3},
		{"capped at the limit", "refactor", "retry", 3},
		{"far lengths stop early", "a much longer instruction", "help", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := distance(tt.a, tt.b, 2); got != tt.want {
				t.Errorf("distance(%q, %q, 2) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
