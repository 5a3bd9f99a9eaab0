//go:build linux

package local

import "testing"

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, line          string
		state               byte
		ppid, pgrp, session int
		ok                  bool
	}{
		{"plain", "4242 (sleep) S 4241 4240 4239 0 -1 4194560", 'S', 4241, 4240, 4239, true},
		{"comm with spaces and parentheses", "77 (a) b (c) Z 1 70 70 0 -1", 'Z', 1, 70, 70, true},
		{"truncated", "77 (sleep) S 1", 0, 0, 0, 0, false},
		{"no comm", "77 sleep S 1 2 3", 0, 0, 0, 0, false},
		{"garbage numbers", "77 (x) R 1 a b", 0, 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, ppid, pgrp, session, ok := parseStat([]byte(tt.line))
			if state != tt.state || ppid != tt.ppid || pgrp != tt.pgrp || session != tt.session || ok != tt.ok {
				t.Errorf("parseStat(%q) = %c, %d, %d, %d, %v", tt.line, state, ppid, pgrp, session, ok)
			}
		})
	}
}
