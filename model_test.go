package sesame

import (
	"strings"
	"testing"
)

func TestCheckModel(t *testing.T) {
	good := []string{
		"", // the agent's default
		"claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "sonnet", "opus", "sonnet[1m]", "claude-opus-4-1[1m]",
		"claude-3-5-sonnet-v2@20241022",                // Vertex AI
		"us.anthropic.claude-3-7-sonnet-20250219-v1:0", // Bedrock
		"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
		"arn:aws:bedrock:ap-southeast-2:123456789012:inference-profile/apac.anthropic.claude-3-7-sonnet-20250219-v1:0",
		"gpt-5-codex", "gpt-4.1-mini", "o3", "4o", "ft:gpt-4o-mini-2024-07-18:my-org:custom_suffix:9a8b7c",
		"gemini-2.5-pro", "models/gemini-2.5-pro", "gemini-2.0-flash-exp",
		"openrouter/anthropic/claude-3.5-sonnet", "openrouter/meta-llama/llama-3.1-8b-instruct:free",
		"qwen2.5-coder:7b", "llama3.1:8b-instruct-q4_K_M", "Qwen/Qwen2.5-Coder-32B-Instruct",
		strings.Repeat("m", maxModel),
	}
	for _, m := range good {
		if err := CheckModel(m); err != nil {
			t.Errorf("CheckModel(%q) = %v, want nil", m, err)
		}
	}

	const chars = "a model name may only hold ASCII letters, digits and . _ - : / @ [ ]; "
	bad := []struct{ name, model, want string }{
		{"leading dash", "-x", `a model name must start with a letter or a digit; "-x" starts with "-"`},
		{"a flag", "--help", `a model name must start with a letter or a digit; "--help" starts with "-"`},
		{"leading dot", "../x", `a model name must start with a letter or a digit; "../x" starts with "."`},
		{"leading colon", ":x", `a model name must start with a letter or a digit; ":x" starts with ":"`},
		{"semicolon", "x;rm", chars + `"x;rm" holds ";"`},
		{"command substitution", "$(id)", chars + `"$(id)" holds "$"`},
		{"pipe", "a|b", chars + `"a|b" holds "|"`},
		{"space", "gpt 5", chars + `"gpt 5" holds " "`},
		{"tab", "gpt\t5", chars + `"gpt\t5" holds "\t"`},
		{"newline", "gpt\n5", chars + `"gpt\n5" holds "\n"`},
		{"NUL", "gpt\x005", chars + `"gpt\x005" holds "\x00"`},
		{"quote", `gpt"5`, chars + `"gpt\"5" holds "\""`},
		{"backtick", "gpt`5", chars + "\"gpt`5\" holds \"`\""},
		{"markdown link", "x](http://evil)", chars + `"x](http://evil)" holds "("`},
		{"non-ASCII letter", "claudé", chars + `"claudé" holds "é"`},
		{"bidi override", "gpt\u202e5", chars + `"gpt\u202e5" holds "\u202e"`},
		{"invalid UTF-8", "gpt\xff", chars + `"gpt\xff" holds "�"`},
		{"long name is shortened", "x" + strings.Repeat("y", 60) + " ",
			chars + `"x` + strings.Repeat("y", 39) + `…" holds " "`},
		{"too long", strings.Repeat("m", maxModel+1), "a model name must be at most 200 characters long; this one has 201"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckModel(tt.model)
			if err == nil {
				t.Fatalf("CheckModel(%q) = nil, want an error", tt.model)
			}
			if err.Error() != tt.want {
				t.Errorf("CheckModel(%q) = %q, want %q", tt.model, err, tt.want)
			}
		})
	}
}
