package sealed_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sesame-works/sesame/sealed"
)

const (
	key      = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	otherKey = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"
)

// MustNew returns a Box for hexKey.
func MustNew(t *testing.T, hexKey string) *sealed.Box {
	t.Helper()
	b, err := sealed.New(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	box := MustNew(t, key)
	for _, tt := range []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{name: "token", plaintext: []byte("ghp_abcdefghijklmnopqrstuvwxyz0123456789"), ad: []byte("user:018f")},
		{name: "empty plaintext", plaintext: []byte{}, ad: []byte("user:018f")},
		{name: "no associated data", plaintext: []byte("secret"), ad: nil},
		{name: "large", plaintext: bytes.Repeat([]byte("x"), 1<<16), ad: []byte("ad")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := box.Seal(tt.plaintext, tt.ad)
			if err != nil {
				t.Fatal(err)
			}
			if s[0] != 1 || len(s) != 1+12+len(tt.plaintext)+16 {
				t.Errorf("sealed value: version %d, %d bytes; want version 1, %d bytes", s[0], len(s), 1+12+len(tt.plaintext)+16)
			}
			if len(tt.plaintext) > 0 && bytes.Contains(s, tt.plaintext) {
				t.Error("sealed value holds the plaintext")
			}
			got, err := box.Open(s, tt.ad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open = %q, want %q", got, tt.plaintext)
			}
		})
	}
}

func TestSealUsesAFreshNonce(t *testing.T) {
	box := MustNew(t, key)
	a, _ := box.Seal([]byte("same"), []byte("ad"))
	b, _ := box.Seal([]byte("same"), []byte("ad"))
	if bytes.Equal(a[1:13], b[1:13]) || bytes.Equal(a, b) {
		t.Fatalf("two seals of one value share a nonce or ciphertext:\n%x\n%x", a, b)
	}
}

func TestOpenFails(t *testing.T) {
	box := MustNew(t, key)
	good, err := box.Seal([]byte("ghp_secret"), []byte("user:1"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		s := bytes.Clone(good)
		s[i] ^= 0x01
		return s
	}
	for _, tt := range []struct {
		name    string
		box     *sealed.Box
		sealed  []byte
		ad      []byte
		wantErr string // substring; "" means ErrOpen
	}{
		{name: "tampered ciphertext", box: box, sealed: flip(14), ad: []byte("user:1")},
		{name: "tampered nonce", box: box, sealed: flip(1), ad: []byte("user:1")},
		{name: "tampered tag", box: box, sealed: flip(len(good) - 1), ad: []byte("user:1")},
		{name: "truncated", box: box, sealed: good[:len(good)-1], ad: []byte("user:1")},
		{name: "wrong associated data", box: box, sealed: good, ad: []byte("user:2")},
		{name: "missing associated data", box: box, sealed: good, ad: nil},
		{name: "wrong key", box: MustNew(t, otherKey), sealed: good, ad: []byte("user:1")},
		{name: "unknown version", box: box, sealed: append([]byte{2}, good[1:]...), ad: []byte("user:1"), wantErr: "unknown version 2"},
		{name: "empty", box: box, sealed: nil, ad: []byte("user:1"), wantErr: "empty"},
		{name: "version only", box: box, sealed: []byte{1}, ad: []byte("user:1"), wantErr: "too short"},
		{name: "shorter than nonce and tag", box: box, sealed: good[:1+12+15], ad: []byte("user:1"), wantErr: "too short"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.box.Open(tt.sealed, tt.ad)
			if err == nil {
				t.Fatalf("Open = %q, want an error", got)
			}
			if tt.wantErr == "" && !errors.Is(err, sealed.ErrOpen) {
				t.Errorf("Open error = %v, want ErrOpen", err)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open error = %v, want it to say %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	for _, tt := range []struct {
		name    string
		key     string
		wantErr string
	}{
		{name: "empty", key: "", wantErr: "64 hex characters"},
		{name: "16 bytes", key: key[:32], wantErr: "64 hex characters"},
		{name: "too long", key: key + "00", wantErr: "64 hex characters"},
		{name: "not hex", key: "zz" + key[2:], wantErr: "must be hex"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sealed.New(tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New(%q) = %v, want an error saying %q", tt.key, err, tt.wantErr)
			}
			if tt.key != "" && strings.Contains(err.Error(), tt.key) {
				t.Errorf("error shows the key: %v", err)
			}
		})
	}
	if _, err := sealed.New(strings.ToUpper(key)); err != nil {
		t.Errorf("New(upper-case hex) = %v", err)
	}
}
