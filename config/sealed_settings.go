package config

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Sealer encrypts secret settings that admins save (sealed.Box with ENCRYPTION_KEY).
type Sealer interface {
	Seal(plaintext, associatedData []byte) ([]byte, error)
	Open(sealed, associatedData []byte) ([]byte, error)
}

// sealedPrefix starts every stored secret value; the rest is the sealed bytes in base64.
const sealedPrefix = "sealed:"

// settingAD binds a sealed value to its key: a value copied to another key does not open.
func settingAD(key string) []byte { return []byte("sesame:setting:" + key) }

// SealSetting returns what to store for key's value: the value itself, or for a secret setting
// the value sealed with b. An empty secret stays empty (it clears the setting).
func SealSetting(b Sealer, key, value string) (string, error) {
	s, ok := byKey[key]
	if !ok || !s.Secret || value == "" {
		return value, nil
	}
	sealed, err := b.Seal([]byte(value), settingAD(key))
	if err != nil {
		return "", fmt.Errorf("seal %s: %w", key, err)
	}
	return sealedPrefix + base64.StdEncoding.EncodeToString(sealed), nil
}

// OpenSaved is Saved with every sealed value opened. A value that does not open (ENCRYPTION_KEY
// changed since it was saved) is left out, so the setting falls back to the lower layers, and
// Settings reports it with the other values.
type OpenSaved struct {
	Saved  Saved
	Sealer Sealer
}

// ErrSealed wraps the error for each saved secret that did not open.
var ErrSealed = errors.New("saved secret does not open with this ENCRYPTION_KEY; save it again in the admin settings")

// Settings returns the saved values with secrets opened. With values that did not open it returns
// the others and an error wrapping ErrSealed naming each.
func (o OpenSaved) Settings(ctx context.Context) (map[string]string, error) {
	saved, err := o.Saved.Settings(ctx)
	if err != nil {
		return nil, err
	}
	var errs []error
	for key, v := range saved {
		rest, ok := strings.CutPrefix(v, sealedPrefix)
		if !ok {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(rest)
		var plain []byte
		if err == nil {
			plain, err = o.Sealer.Open(raw, settingAD(key))
		}
		if err != nil {
			delete(saved, key)
			errs = append(errs, fmt.Errorf("%s: %w", key, ErrSealed))
			continue
		}
		saved[key] = string(plain)
	}
	return saved, errors.Join(errs...)
}
