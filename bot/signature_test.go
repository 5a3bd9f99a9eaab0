package bot

import "testing"

// GitHub's documented test vector ("Validating webhook deliveries").
func TestValidSignatureGitHubVector(t *testing.T) {
	secret := []byte("It's a Secret to Everybody")
	body := []byte("Hello, World!")
	const sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	tests := []struct {
		name   string
		header string
		body   []byte
		want   bool
	}{
		{"documented vector", sig, body, true},
		{"uppercase hex", "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17", body, true},
		{"other body", sig, []byte("Hello, World?"), false},
		{"no prefix", sig[len("sha256="):], body, false},
		{"sha1 prefix", "sha1=" + sig[len("sha256="):], body, false},
		{"truncated", sig[:len(sig)-2], body, false},
		{"not hex", "sha256=zz", body, false},
		{"empty", "", body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validSignature(secret, tt.header, tt.body); got != tt.want {
				t.Errorf("validSignature(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}
