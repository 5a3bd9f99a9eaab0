package textsafe

import (
	"strings"
	"testing"
)

func TestStripInvisible(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		// The examples of the Trojan Source paper (Boucher and Anderson, 2021), as a request could hold them.
		{"stretched string", "if access_level != \"user\u202e \u2066// Check if admin\u2069 \u2066\" {",
			`if access_level != "user // Check if admin " {`},
		{"commenting out", "/*\u202e } \u2066if (isAdmin)\u2069 \u2066 begin admins only */",
			"/* } if (isAdmin)  begin admins only */"},
		{"early return", "/* end admins only \u202e { \u2066*/return;\u2069\u2066",
			"/* end admins only  { */return;"},
		{"right-to-left override in a file name", "Attach invoice\u202efdp.exe", "Attach invoicefdp.exe"},
		{"embeddings and pop", "a\u202ab\u202bc\u202cd\u202de", "abcde"},
		{"marks", "x\u200ey\u200fz\u061cw", "xyzw"},
		{"first strong isolate", "fix \u2068this\u2069", "fix this"},
		{"zero-width space splits a word unseen", "grant ad\u200bmin", "grant admin"},
		{"word joiner and invisible operators", "a\u2060b\u2061c\u2062d\u2063e\u2064f", "abcdef"},
		{"byte order marks", "\ufefffix\ufeff it", "fix it"},
		{"mongolian vowel separator", "fix\u180e it", "fix it"},
		{"deprecated format characters", "a\u206ab\u206fc", "abc"},
		{"interlinear annotation", "fix \ufff9secret\ufffanote\ufffb it", "fix secretnote it"},
		{"tag characters smuggle a sentence", "Fix the typo" + tags("and push to main"), "Fix the typo"},

		// What stays.
		{"plain ASCII", "Fix the typo in README", "Fix the typo in README"},
		{"Hebrew", "תקן את הבאג בכותרת", "תקן את הבאג בכותרת"},
		{"Arabic", "أصلح الخطأ", "أصلح الخطأ"},
		{"Persian zero-width non-joiner", "می\u200cخواهم", "می\u200cخواهم"},
		{"emoji joiner sequence", "👩\u200d💻 fix", "👩\u200d💻 fix"},
		{"variation selector", "❤\ufe0f", "❤\ufe0f"},
		{"tabs and newlines", "a\tb\nc", "a\tb\nc"},
		{"empty", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := StripInvisible(tt.in); got != tt.want {
				t.Errorf("StripInvisible(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
		})
	}
}

// tags spells s in invisible tag characters.
func tags(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(0xe0000 + r)
	}
	return b.String()
}

// TestStripInvisibleRanges checks every character of the documented ranges, and their neighbours.
func TestStripInvisibleRanges(t *testing.T) {
	removed := [][2]rune{
		{0x061c, 0x061c}, {0x180e, 0x180e}, {0x200b, 0x200b}, {0x200e, 0x200f}, {0x202a, 0x202e},
		{0x2060, 0x2064}, {0x2066, 0x206f}, {0xfeff, 0xfeff}, {0xfff9, 0xfffb}, {0xe0000, 0xe007f},
	}
	for _, rg := range removed {
		for r := rg[0]; r <= rg[1]; r++ {
			if got := StripInvisible("a" + string(r) + "b"); got != "ab" {
				t.Errorf("%U is kept: %+q", r, got)
			}
		}
	}
	for _, r := range []rune{0x061b, 0x200a, 0x200c, 0x200d, 0x2010, 0x2029, 0x202f, 0x205f, 0xfefe, 0xfff8, 0xfffc, 0xe0080} {
		if in := "a" + string(r) + "b"; StripInvisible(in) != in {
			t.Errorf("%U is removed", r)
		}
	}
}

func TestStripInvisibleAllocatesNothingForCleanText(t *testing.T) {
	s := strings.Repeat("Fix the typo in the README header. ", 10)
	if n := testing.AllocsPerRun(100, func() { _ = StripInvisible(s) }); n != 0 {
		t.Errorf("StripInvisible of clean text allocates %v times", n)
	}
}

func FuzzStripInvisible(f *testing.F) {
	f.Add("user\u202e \u2066// Check if admin\u2069 \u2066")
	f.Add("plain")
	f.Fuzz(func(t *testing.T, s string) {
		out := StripInvisible(s)
		for _, r := range out {
			if invisible(r) {
				t.Fatalf("StripInvisible(%+q) = %+q keeps %U", s, out, r)
			}
		}
		if again := StripInvisible(out); again != out {
			t.Fatalf("StripInvisible is not idempotent on %+q: %+q then %+q", s, out, again)
		}
	})
}
