package gitops

import (
	"context"
	"testing"
)

// TestBranchNameIgnoresInvisibleCharacters: bidi controls and zero-width characters neither reach a
// branch name nor split the words they hide in.
func TestBranchNameIgnoresInvisibleCharacters(t *testing.T) {
	const id = "019a4f2e-7b1c-7d3e-9f00-1a2b3c4d5e6f"
	for _, tc := range []struct {
		name, instruction, want string
	}{
		{"zero-width space inside a word", "grant ad\u200bmin rights", "sesame/4-grant-admin-rights-4d5e6f"},
		{"right-to-left override", "rename invoice\u202efdp.exe", "sesame/4-rename-invoicefdp-exe-4d5e6f"},
		{"isolates", "check \u2066if admin\u2069 \u2066first", "sesame/4-check-if-admin-first-4d5e6f"},
		{"tag characters", "fix it\U000e0070\U000e0075\U000e0073\U000e0068", "sesame/4-fix-it-4d5e6f"},
		{"only invisible", "\u202e\u200b\ufeff", "sesame/4-task-4d5e6f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := BranchName(4, tc.instruction, id)
			if got != tc.want {
				t.Errorf("BranchName(%+q) = %q, want %q", tc.instruction, got, tc.want)
			}
			if _, err := runTestGit(context.Background(), "", "check-ref-format", "--branch", got); err != nil {
				t.Errorf("git rejects %q: %v", got, err)
			}
		})
	}
}
