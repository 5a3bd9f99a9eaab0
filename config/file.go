package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// fileNames are the config files Load looks for, in this order.
var fileNames = []string{"config.json", "config.jsonc", "config.yaml", "config.yml", "config.toml"}

type format string

const (
	formatJSON  format = "json"
	formatJSONC format = "jsonc"
	formatYAML  format = "yaml"
	formatTOML  format = "toml"
)

// formatOf returns the format of a config file from its extension.
func formatOf(path string) (format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return formatJSON, nil
	case ".jsonc":
		return formatJSONC, nil
	case ".yaml", ".yml":
		return formatYAML, nil
	case ".toml":
		return formatTOML, nil
	}
	return "", fmt.Errorf("config file %s: unknown extension; use .json, .jsonc, .yaml, .yml or .toml", path)
}

// findFile returns the config file to read: opts.Path when given, otherwise
// the one config file in opts.Dir, or "" when there is none. More than one
// config file in the directory is an error.
func findFile(opts Options) (string, error) {
	if opts.Path != "" {
		if _, err := formatOf(opts.Path); err != nil {
			return "", err
		}
		return opts.Path, nil
	}
	var found []string
	for _, name := range fileNames {
		path := filepath.Join(opts.Dir, name)
		info, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return "", fmt.Errorf("config file: %w", err)
		case info.IsDir():
			continue
		}
		found = append(found, path)
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	dir := opts.Dir
	if dir == "" {
		dir = "the working directory"
	}
	return "", fmt.Errorf("found %d config files in %s: %s; keep exactly one, or choose one with --config PATH",
		len(found), dir, strings.Join(found, ", "))
}

// readFile reads the config file at path and returns its validated,
// normalized values by key.
func readFile(path string) (map[string]string, error) {
	f, err := formatOf(path)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	return parseFile(path, f, data)
}

// parseFile decodes data in format f and returns its values by key. path only
// names the file in errors.
func parseFile(path string, f format, data []byte) (map[string]string, error) {
	tree, err := decode(f, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return flatten(path, tree)
}
