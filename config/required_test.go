package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckRequired(t *testing.T) {
	const (
		goodSecret = "0123456789abcdefghijklmnopqrstuvwxyzABCD"
		goodURL    = "https://sesame.example.com"
		goodKey    = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	)
	const (
		secretHow = "generate one with `openssl rand -base64 32`."
		keyHow    = "generate one with `openssl rand -hex 32`."
		urlHow    = "such as https://sesame.example.com."
	)
	tests := []struct {
		name string
		env  map[string]string
		want []string // each problem must start with the first part and contain the second
	}{
		{
			name: "all good",
			env:  map[string]string{"BETTER_AUTH_SECRET": goodSecret, "BASE_URL": goodURL, "ENCRYPTION_KEY": goodKey},
		},
		{
			name: "all missing",
			env:  nil,
			want: []string{
				"BASE_URL is not set: it is the public address", urlHow,
				"BETTER_AUTH_SECRET is not set: it signs and encrypts sign-in sessions", secretHow,
				"ENCRYPTION_KEY is not set: it encrypts the API keys and tokens", keyHow,
			},
		},
		{
			name: "all invalid",
			env:  map[string]string{"BETTER_AUTH_SECRET": "tiny-secret", "BASE_URL": "sesame.example.com", "ENCRYPTION_KEY": "abc"},
			want: []string{
				`BASE_URL is "sesame.example.com", which is not an absolute http(s) URL`, urlHow,
				"BETTER_AUTH_SECRET is too short (11 characters, at least 32 needed)", secretHow,
				"ENCRYPTION_KEY must be 64 hex characters (32 bytes), got 3 characters", keyHow,
			},
		},
		{
			name: "key of the right length but not hex",
			env:  map[string]string{"BETTER_AUTH_SECRET": goodSecret, "BASE_URL": goodURL, "ENCRYPTION_KEY": strings.Repeat("zz", 32)},
			want: []string{"ENCRYPTION_KEY must be 64 hex characters (32 bytes), but holds characters that are not hex digits", keyHow},
		},
		{
			name: "base URL with another scheme",
			env:  map[string]string{"BETTER_AUTH_SECRET": goodSecret, "BASE_URL": "ftp://sesame.example.com", "ENCRYPTION_KEY": goodKey},
			want: []string{`BASE_URL is "ftp://sesame.example.com", which is not an absolute http(s) URL`, urlHow},
		},
		{
			name: "http with a path is fine",
			env:  map[string]string{"BETTER_AUTH_SECRET": goodSecret, "BASE_URL": "http://10.0.0.5:8080/sesame", "ENCRYPTION_KEY": goodKey},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, nil, tt.env, nil)
			err := c.CheckRequired()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckRequired = %v", err)
				}
				return
			}
			var re *RequiredError
			if !errors.As(err, &re) {
				t.Fatalf("CheckRequired = %v, want a *RequiredError", err)
			}
			if len(re.Problems) != len(tt.want)/2 {
				t.Fatalf("got %d problems, want %d:\n%v", len(re.Problems), len(tt.want)/2, err)
			}
			for i, p := range re.Problems {
				if !strings.HasPrefix(p, tt.want[2*i]) || !strings.HasSuffix(p, tt.want[2*i+1]) {
					t.Errorf("problem %d = %q\nwant it to start with %q and end with %q", i, p, tt.want[2*i], tt.want[2*i+1])
				}
			}
			// One problem per line, after a header line.
			lines := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(len(re.Problems)+1, len(lines)); diff != "" {
				t.Errorf("lines: %s\n%v", diff, err)
			}
			if secret := tt.env["BETTER_AUTH_SECRET"]; secret != "" && strings.Contains(err.Error(), secret) {
				t.Error("the error repeats the secret's value")
			}
		})
	}
}
