package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/tailscale/hujson"
	"gopkg.in/yaml.v3"
)

// maxDepth bounds the nesting of a config file; real ones are three deep.
const maxDepth = 64

// decode parses a config file into nested maps. A file holding only
// whitespace (or, in JSONC, comments) decodes to an empty map.
func decode(f format, data []byte) (tree map[string]any, err error) {
	// The parsers are third-party code fed with operator input; a panic in one
	// of them becomes an error here rather than a crash at start-up.
	defer func() {
		if r := recover(); r != nil {
			tree, err = nil, fmt.Errorf("cannot parse %s: %w", f, hideFileText(fmt.Errorf("%v", r)))
		}
	}()
	var v any
	switch f {
	case formatJSON:
		v, err = decodeJSON(data)
	case formatJSONC:
		v, err = decodeJSONC(data)
	case formatYAML:
		err = hideFileText(yaml.Unmarshal(data, &v))
	case formatTOML:
		var m map[string]any
		_, err = toml.Decode(string(data), &m)
		v, err = m, hideFileText(err)
	default:
		err = fmt.Errorf("unknown format %q", f)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", f, err)
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := asMap(v)
	if !ok {
		return nil, fmt.Errorf("invalid %s: the top level must be a mapping of settings, got %s", f, describeValue(v))
	}
	return m, nil
}

// asMap returns v as a map with string keys. YAML gives map[any]any when a
// key is not a string; such keys are kept in their printed form, which never
// matches a setting and is reported as unknown.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, val := range m {
			out[fmt.Sprint(k)] = val
		}
		return out, true
	}
	return nil, false
}

// decodeJSON decodes one JSON value, keeping numbers exact and refusing
// duplicate keys (encoding/json would silently keep the last one).
func decodeJSON(data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJSON(dec, 0)
	if err != nil {
		return nil, jsonError(data, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, jsonError(data, fmt.Errorf("unexpected data after the top-level value at offset %d", dec.InputOffset()))
	}
	return v, nil
}

func readJSON(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		m := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, ok := kt.(string)
			if !ok {
				return nil, fmt.Errorf("object key is not a string at offset %d", dec.InputOffset())
			}
			if _, dup := m[key]; dup {
				return nil, fmt.Errorf("duplicate key %q at offset %d", key, dec.InputOffset())
			}
			val, err := readJSON(dec, depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = val
		}
		_, err := dec.Token() // '}'
		return m, err
	case json.Delim('['):
		var list []any
		for dec.More() {
			val, err := readJSON(dec, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, val)
		}
		_, err := dec.Token() // ']'
		if list == nil {
			list = []any{}
		}
		return list, err
	}
	return tok, nil
}

// decodeJSONC decodes JSON with comments and trailing commas. A file of
// nothing but comments holds no settings.
func decodeJSONC(data []byte) (any, error) {
	std, err := hujson.Standardize(data)
	if err != nil {
		// Only comments and whitespace followed by a value make a valid document,
		// so this succeeds exactly when data holds no value at all.
		if _, err2 := hujson.Standardize(append(bytes.Clone(data), "\nnull"...)); err2 == nil {
			return nil, nil
		}
		return nil, hideFileText(err)
	}
	return decodeJSON(std)
}

// quotedText matches the file's text that a parser's message quotes: a token in double quotes or
// backquotes, or hujson's "invalid literal: " and all that follows it.
var quotedText = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|`[^`]*`|(?s:invalid literal: .*)")

// hideFileText returns a third-party parser's error with the file's text that it quotes replaced
// by "…": a secret written without quotes, or with a bad escape, would otherwise be printed
// whole, and raw control characters with it. Quoted setting keys and groups stay, since they say
// where the problem is, and so do the line and column.
func hideFileText(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(quotedText.ReplaceAllStringFunc(err.Error(), func(q string) string {
		if strings.HasPrefix(q, "invalid literal: ") {
			return "invalid literal: …"
		}
		if inner := q[1 : len(q)-1]; groups[inner] || byKey[inner].Key != "" {
			return q
		}
		return q[:1] + "…" + q[len(q)-1:]
	}))
}

// jsonError adds the line and column to a JSON syntax error.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) && syn.Offset <= int64(len(data)) {
		before := data[:syn.Offset]
		line := bytes.Count(before, []byte("\n")) + 1
		col := len(before) - bytes.LastIndexByte(before, '\n')
		return fmt.Errorf("line %d, column %d: %w", line, col, err)
	}
	return err
}
