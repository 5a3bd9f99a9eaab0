package mask_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/sesame-works/sesame/mask"
)

func TestMasker(t *testing.T) {
	token := "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
	m := mask.New(token, "short", "", "sk-ant-api03-abcdefghijklmnop")
	basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token))
	tests := []struct{ name, in, want string }{
		{"token", "push with " + token + " failed", "push with ******** failed"},
		{"twice", token + token, "****************"},
		{"basic auth form", "Authorization: Basic " + basic, "Authorization: Basic ********"},
		{"api key in json", `{"key":"sk-ant-api03-abcdefghijklmnop"}`, `{"key":"********"}`},
		{"short values are not secrets", "a short note", "a short note"},
		{"nothing to mask", "hello", "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	v := m.Value(map[string]any{"out": []any{"x " + token}, "n": 3, "s": []string{token}}).(map[string]any)
	if strings.Contains(v["out"].([]any)[0].(string), token) || strings.Contains(v["s"].([]string)[0], token) || v["n"] != 3 {
		t.Errorf("Value did not mask nested strings: %v", v)
	}
	m.Add("late-added-secret-value")
	if got := m.String("x late-added-secret-value"); got != "x ********" {
		t.Errorf("secret added later not masked: %q", got)
	}
	if got := mask.New().String(token); got != token {
		t.Errorf("empty masker changed text")
	}
}
