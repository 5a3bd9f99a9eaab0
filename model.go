package sesame

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxModel is the longest model name, in characters: twice the longest real ones, Amazon Bedrock
// inference profile ARNs (arn:aws:bedrock:ap-southeast-2:123456789012:inference-profile/
// apac.anthropic.claude-3-7-sonnet-20250219-v1:0 has 108).
const maxModel = 200

// modelPunct is the punctuation a model name may hold besides ASCII letters and digits.
const modelPunct = "._-:/@[]"

// CheckModel reports why s cannot be a model name, or nil when it can. The empty name is valid: it
// means the agent's default. The error's message is a sentence fragment a user can act on, with the
// name quoted and shortened.
//
// A model name is at most 200 ASCII letters, digits and . _ - : / @ [ ], starting with a letter or a
// digit. That holds the names the agents' vendors and gateways use: claude-sonnet-4-5 and sonnet[1m]
// (Claude Code's 1M-context alias), claude-3-5-sonnet-v2@20241022 (Vertex AI),
// us.anthropic.claude-3-7-sonnet-20250219-v1:0 and arn:aws:bedrock:...:inference-profile/... (Bedrock),
// gpt-5-codex and ft:gpt-4o-mini-2024-07-18:org::id (OpenAI), gemini-2.5-pro and models/gemini-2.5-pro
// (Gemini), openrouter/anthropic/claude-3.5-sonnet and qwen2.5-coder:7b (opencode, Ollama). It leaves
// out what only an attack or a mistake needs: a leading dash that a CLI would read as a flag, white
// space, quotes, shell and markdown syntax, control and invisible characters.
func CheckModel(s string) error {
	if s == "" {
		return nil
	}
	if n := utf8.RuneCountInString(s); n > maxModel {
		return fmt.Errorf("a model name must be at most %d characters long; this one has %d", maxModel, n)
	}
	for _, r := range s {
		if !isModelRune(r) {
			return fmt.Errorf("a model name may only hold ASCII letters, digits and %s; %s holds %s",
				strings.Join(strings.Split(modelPunct, ""), " "), quoteModel(s), quoteModel(string(r)))
		}
	}
	if c := s[0]; !isASCIILetter(c) && !isASCIIDigit(c) {
		return fmt.Errorf("a model name must start with a letter or a digit; %s starts with %s", quoteModel(s), quoteModel(s[:1]))
	}
	return nil
}

func isModelRune(r rune) bool {
	if r >= utf8.RuneSelf {
		return false
	}
	c := byte(r)
	return isASCIILetter(c) || isASCIIDigit(c) || strings.IndexByte(modelPunct, c) >= 0
}

func isASCIIDigit(c byte) bool { return '0' <= c && c <= '9' }

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// quoteModel quotes a name for a message, cut to a readable length.
func quoteModel(s string) string {
	const maxQuoted = 40
	if utf8.RuneCountInString(s) > maxQuoted {
		s = string([]rune(s)[:maxQuoted]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
