// Package sealed encrypts secrets kept at rest (users' GitHub tokens) with AES-256-GCM.
//
// A sealed value is one version byte, a random 12-byte nonce and the GCM ciphertext with its tag.
// The associated data binds a value to where it is kept (a user's id, say): a value copied to another
// row does not open there.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
)

// version is the first byte of every sealed value: AES-256-GCM with a 12-byte random nonce.
const version = 1

// KeySize is the size of a key in bytes; New takes it as twice as many hex characters.
const KeySize = 32

// ErrOpen is returned when a sealed value does not open: a different key, a changed value or
// different associated data. GCM cannot tell these apart.
var ErrOpen = errors.New("sealed: cannot open: wrong key, tampered value or wrong associated data")

// Box seals and opens values with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a key written as 64 hex characters (32 bytes), such as ENCRYPTION_KEY.
func New(hexKey string) (*Box, error) {
	if len(hexKey) != 2*KeySize {
		return nil, fmt.Errorf("sealed: the key must be %d hex characters (%d bytes), not %d characters",
			2*KeySize, KeySize, len(hexKey))
	}
	key, err := hex.DecodeString(hexKey)
	if err != nil {
		// Not wrapped: hex's error quotes the offending character of the key.
		return nil, errors.New("sealed: the key must be hex: only 0-9 and a-f")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext bound to associatedData, under a fresh random nonce.
func (b *Box) Seal(plaintext, associatedData []byte) ([]byte, error) {
	nonceSize := b.aead.NonceSize()
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+b.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("sealed: nonce: %w", err)
	}
	return b.aead.Seal(out, out[1:], plaintext, associatedData), nil
}

// Open decrypts a value made by Seal with the same key and associated data. A value of an unknown
// version or too short to hold a nonce and tag fails with a message saying so; any other failure
// is ErrOpen.
func (b *Box) Open(sealed, associatedData []byte) ([]byte, error) {
	nonceSize := b.aead.NonceSize()
	if len(sealed) == 0 {
		return nil, errors.New("sealed: empty value")
	}
	if sealed[0] != version {
		return nil, fmt.Errorf("sealed: unknown version %d", sealed[0])
	}
	if len(sealed) < 1+nonceSize+b.aead.Overhead() {
		return nil, fmt.Errorf("sealed: value too short (%d bytes)", len(sealed))
	}
	nonce, ciphertext := sealed[1:1+nonceSize], sealed[1+nonceSize:]
	plaintext, err := b.aead.Open(nil, nonce, ciphertext, associatedData)
	if err != nil {
		return nil, ErrOpen
	}
	return plaintext, nil
}
