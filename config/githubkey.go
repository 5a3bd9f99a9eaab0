package config

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// GitHubPrivateKey returns the GitHub App private key as PEM bytes: the text
// of github.privateKey (GITHUB_APP_PRIVATE_KEY) when set, otherwise the
// contents of the file at github.privateKeyPath (GITHUB_APP_PRIVATE_KEY_PATH).
// Text whose line breaks were written as the two characters `\n`, as is usual
// in a one-line environment variable, is accepted. It fails when neither is
// set, the file cannot be read, or the key holds no PEM private key block.
func (c *Config) GitHubPrivateKey() ([]byte, error) {
	if text := c.values[GitHubPrivateKey].value; text != "" {
		if !strings.Contains(text, "\n") && strings.Contains(text, `\n`) {
			text = strings.ReplaceAll(text, `\n`, "\n")
		}
		key := []byte(text)
		if err := checkPEM(key); err != nil {
			return nil, fmt.Errorf("GitHub App private key from %s: %w", c.values[GitHubPrivateKey].origin, err)
		}
		return key, nil
	}
	path := c.values[GitHubPrivateKeyPath].value
	if path == "" {
		return nil, errors.New("no GitHub App private key: set GITHUB_APP_PRIVATE_KEY to the PEM text, or GITHUB_APP_PRIVATE_KEY_PATH to a file holding it")
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read GitHub App private key (GITHUB_APP_PRIVATE_KEY_PATH): %w", err)
	}
	if err := checkPEM(key); err != nil {
		return nil, fmt.Errorf("GitHub App private key in %s: %w", path, err)
	}
	return key, nil
}

// checkPEM reports whether key holds a PEM private key block.
func checkPEM(key []byte) error {
	rest := bytes.TrimSpace(key)
	for {
		block, next := pem.Decode(rest)
		if block == nil {
			return errors.New("not a PEM private key (expected a -----BEGIN RSA PRIVATE KEY----- block, as GitHub issues)")
		}
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			return nil
		}
		rest = next
	}
}
