package mask

import "testing"

// FuzzMayHoldPattern: the pre-check never skips text that pattern would mask.
func FuzzMayHoldPattern(f *testing.F) {
	for _, s := range []string{
		"ghs_" + "16C7e42F292c6912E7710c838347Ae178B4a0000",
		"x=github_pat_" + "11ABCDEFG0abcdefghijkl_MNOP",
		`"\nsk-` + "ant-api03-abcdefghijklmnopqrst",
		"task-ant-api03-abcdefghijklmnopqrst",
		"-----BEGIN " + "PRIVATE KEY-----\nMIIB",
		"ghost_ sk- disk-space",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if pattern.MatchString(s) && !mayHoldPattern(s) {
			t.Fatalf("pattern matches %q but the pre-check skips it", s)
		}
	})
}
