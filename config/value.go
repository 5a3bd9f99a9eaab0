package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// expected describes, for error messages, what a value of s must look like.
func expected(s Setting) string {
	if len(s.Choices) > 0 {
		return "one of " + strings.Join(s.Choices, ", ")
	}
	switch s.Type {
	case TypeBool:
		return "a boolean (true or false)"
	case TypeInt:
		return "a non-negative integer"
	case TypeDuration:
		return "a positive duration such as 30m or 1h30m"
	case TypeList:
		return "a comma-separated list"
	default:
		return "a string"
	}
}

// normalize checks raw against the type of s and returns it in the form the
// accessors read: booleans as "true"/"false", integers in decimal, lists
// trimmed and joined with commas.
func normalize(s Setting, raw string) (string, error) {
	v, err := normalizeType(s, raw)
	if err != nil {
		return "", err
	}
	if err := checkFormat(s, v); err != nil {
		return "", err
	}
	return v, nil
}

// normalizeType is normalize without the Format check.
func normalizeType(s Setting, raw string) (string, error) {
	bad := func() (string, error) {
		return "", fmt.Errorf("expected %s, got %q", expected(s), raw)
	}
	switch s.Type {
	case TypeBool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return bad()
		}
		return strconv.FormatBool(b), nil
	case TypeInt:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil || n < 0 {
			return bad()
		}
		return strconv.Itoa(n), nil
	case TypeDuration:
		v := strings.TrimSpace(raw)
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return bad()
		}
		return v, nil
	case TypeList:
		return strings.Join(splitList(raw), ","), nil
	default:
		if len(s.Choices) > 0 {
			v := strings.TrimSpace(raw)
			if !slices.Contains(s.Choices, v) {
				return bad()
			}
			return v, nil
		}
		return raw, nil
	}
}

// SplitList splits a comma-separated list as list settings read it: items trimmed, empty ones
// dropped.
func SplitList(raw string) []string { return splitList(raw) }

// splitList splits a comma-separated list, trimming items and dropping empty ones.
func splitList(raw string) []string {
	var out []string
	for item := range strings.SplitSeq(raw, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Validate checks a value that an admin wants to save for key and returns it
// normalized, as Config would hold it. It fails for an unknown key, for a
// setting the admin layer cannot set (Setting.FromAdmin), and for a value of
// the wrong type. An empty value is accepted for string and list settings.
// Validate does not know about locks: refuse a key for which Config.Locked is
// true before saving it.
func Validate(key, value string) (string, error) {
	s, ok := byKey[key]
	if !ok {
		return "", fmt.Errorf("unknown setting %q", key)
	}
	if s.EnvOnly {
		return "", fmt.Errorf("%s cannot be changed in the admin settings; set the environment variable %s", key, s.Env)
	}
	if !s.FromAdmin() {
		return "", fmt.Errorf("%s cannot be changed in the admin settings; set the environment variable %s or put it in the config file", key, s.Env)
	}
	v, err := normalize(s, value)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return v, nil
}
