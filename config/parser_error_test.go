package config

import (
	"strings"
	"testing"
)

// A secret written without its quotes, or with a bad escape, must not be printed by the error
// that refuses the file (FuzzLoadSecrets found these); the error still says where the problem is.
func TestParserErrorsHideFileText(t *testing.T) {
	const secret = "fAbCdEfGhIj-0123_4567"
	tests := []struct {
		name, file, content string
		want                []string // substrings the error keeps
	}{
		{"jsonc bare word", "config.jsonc", `{"github": {"webhookSecret": ` + secret + `}}`,
			[]string{"config.jsonc: invalid jsonc: hujson: line 1, column 30: invalid literal"}},
		{"jsonc bad escape", "config.jsonc", `{"github": {"webhookSecret": "` + secret + `\q"}}`,
			[]string{"line 1, column 30: invalid literal"}},
		{"jsonc raw control character", "config.jsonc", "{\"github\": {\"webhookSecret\": \"" + secret + "\x1b[2J\"}}",
			[]string{"invalid literal"}},
		{"jsonc line break in a string", "config.jsonc", "{\"github\": {\"webhookSecret\": \"x\n" + secret + "\"}}",
			[]string{"invalid literal"}},
		{"toml bare word", "config.toml", "[github]\nwebhookSecret = " + secret + "\n",
			[]string{`toml: line 2 (last key "github.webhookSecret"): expected value but found "…" instead`}},
		{"toml number-like", "config.toml", "[smtp]\npass = 0123_4567\n", []string{`last key "smtp.pass"`, "leading zeroes"}},
		{"yaml tag", "config.yaml", "github:\n  webhookSecret: !!int " + secret + "\n", []string{"cannot decode !!str `…` as a !!int"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Options{Dir: writeFiles(t, map[string]string{tt.file: tt.content}), Getenv: env(nil)})
			if err == nil {
				t.Fatal("Load accepted the file")
			}
			msg := err.Error()
			for _, leak := range []string{"fAbCdEf", "0123_4567", "\x1b"} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q shows %q of the file", msg, leak)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
		})
	}
}
