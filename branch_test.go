package sesame

import (
	"strings"
	"testing"
)

func TestCheckBranch(t *testing.T) {
	tests := []struct {
		name   string
		branch string
		want   string // a part of the error's message; "" for none
	}{
		{"empty is the default branch", "", ""},
		{"simple", "main", ""},
		{"with slashes", "release/v1.2", ""},
		{"dots inside", "v1.2.3", ""},
		{"dashes and underscores", "feature-x_y", ""},
		{"at sign alone in a part", "fix@home", ""},
		{"non-ASCII letters", "修复/登录", ""},
		{"at the limit", strings.Repeat("b", 200), ""},
		{"over the limit", strings.Repeat("b", 201), "at most 200 bytes long; this one has 201"},
		{"two dots", "a..b", `it holds ".."`},
		{"leading dash", "-f", "starts with a dash"},
		{"space", "a b", `it holds " "`},
		{"tab", "a\tb", `it holds "\t"`},
		{"NUL", "a\x00b", `it holds "\x00"`},
		{"DEL", "a\x7fb", `it holds "\x7f"`},
		{"tilde", "a~1", `it holds "~"`},
		{"caret", "a^", `it holds "^"`},
		{"colon", "a:b", `it holds ":"`},
		{"question mark", "a?", `it holds "?"`},
		{"star", "a*", `it holds "*"`},
		{"bracket", "a[1]", `it holds "["`},
		{"backslash", `a\b`, `it holds "\\"`},
		{"trailing slash", "feature/", `ends with "/"`},
		{"leading slash", "/feature", `starts or ends with "/"`},
		{"double slash", "a//b", `holds "//"`},
		{"lock suffix", "main.lock", `ends with ".lock"`},
		{"lock suffix of a part", "a.lock/b", `ends with ".lock"`},
		{"trailing dot", "main.", `ends with "."`},
		{"part starting with a dot", "a/.hidden", `starts with "."`},
		{"leading dot", ".hidden", `starts with "."`},
		{"at brace", "a@{1}", `it holds "@{"`},
		{"lone at", "@", "git reserves that name"},
		{"HEAD", "HEAD", "git reserves that name"},
		{"bidi override", "main\u202e", "invisible character U+202E"},
		{"no-break space", "a\u00a0b", "invisible character U+00A0"},
		{"invalid UTF-8", "a\xffb", "valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckBranch(tt.branch)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckBranch(%q) = %v, want nil", tt.branch, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckBranch(%q) = %v, want an error holding %q", tt.branch, err, tt.want)
			}
		})
	}
}
