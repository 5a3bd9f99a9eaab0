package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// groups holds every proper prefix of a key ("sandbox", "sandbox.security"):
// the names that are objects in the config file.
var groups = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range registry {
		parts := strings.Split(s.Key, ".")
		for i := 1; i < len(parts); i++ {
			m[strings.Join(parts[:i], ".")] = true
		}
	}
	return m
}()

// flatten turns the nested maps of a config file into validated values by
// key. It reports every problem at once: unknown keys, settings that only the
// environment may set, values of the wrong type, a key given twice. A null
// value counts as not set. A dotted name ("registration.allowNewUsers") is
// accepted wherever the nested form is.
func flatten(path string, tree map[string]any) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		names := make([]string, 0, len(m))
		for name := range m {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			key, v := name, m[name]
			if prefix != "" {
				key = prefix + "." + name
			}
			if s, ok := byKey[key]; ok {
				if s.EnvOnly {
					errs = append(errs, fmt.Errorf("%s: %s cannot be set in the config file; set the environment variable %s instead", path, key, s.Env))
					continue
				}
				if v == nil {
					continue
				}
				raw, err := scalar(s, v)
				if err == nil {
					raw, err = normalize(s, raw)
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %s: %w", path, key, err))
					continue
				}
				if _, dup := out[key]; dup {
					errs = append(errs, fmt.Errorf("%s: %s is set twice", path, key))
					continue
				}
				out[key] = raw
				continue
			}
			if groups[key] {
				if v == nil {
					continue
				}
				sub, ok := asMap(v)
				if !ok {
					errs = append(errs, fmt.Errorf("%s: %s holds settings; expected a table of keys, got %s", path, key, describeValue(v)))
					continue
				}
				walk(key, sub)
				continue
			}
			msg := fmt.Sprintf("%s: unknown key %q", path, key)
			if near := suggest(key); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			}
			errs = append(errs, errors.New(msg))
		}
	}
	walk("", tree)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// scalar converts a value decoded from a config file to text. Strings,
// booleans and numbers convert for any setting (the type check comes after);
// a list converts only for a list setting.
func scalar(s Setting, v any) (string, error) {
	if list, ok := v.([]any); ok {
		if s.Type != TypeList {
			return "", fmt.Errorf("expected %s, got a list", expected(s))
		}
		items := make([]string, 0, len(list))
		for _, item := range list {
			text, ok := scalarText(item)
			if !ok || item == nil {
				return "", fmt.Errorf("expected a list of strings, got an item that is %s", describeValue(item))
			}
			if strings.Contains(text, ",") {
				return "", fmt.Errorf("list item %q contains a comma", text)
			}
			items = append(items, text)
		}
		return strings.Join(items, ","), nil
	}
	text, ok := scalarText(v)
	if !ok {
		return "", fmt.Errorf("expected %s, got %s", expected(s), describeValue(v))
	}
	return text, nil
}

// scalarText returns the text of a string, boolean or number.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return x.String(), true
		}
		f, err := x.Float64()
		if err != nil {
			return x.String(), true
		}
		return floatText(f)
	case float64:
		return floatText(x)
	}
	return "", false
}

// floatText prints a number without an exponent or a trailing ".0", so 587.0
// reads as the integer it is and 1.5 stays a fraction.
func floatText(f float64) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// describeValue names the kind of a decoded value for error messages.
func describeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", x)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a table"
	case []map[string]any:
		return "a list of tables"
	case time.Time:
		return "a date or time"
	}
	if _, ok := asMap(v); ok {
		return "a table"
	}
	if text, ok := scalarText(v); ok {
		return text
	}
	return fmt.Sprintf("a value of type %T", v)
}
