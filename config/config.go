package config

import (
	"strconv"
	"time"
)

// Config is the resolved value of every setting. It is immutable and safe
// for concurrent use; WithAdmin returns a new one.
//
// The typed accessors (String, Bool, Int, Duration, List) panic when key is
// not in the registry or the setting is of another type: both are mistakes in
// the calling code, not in the operator's configuration, because every value
// was validated by Load. Use the key constants of this package.
type Config struct {
	file       string
	fileValues map[string]string
	env        map[string]envValue
	admin      map[string]string
	values     map[string]entry
}

// entry is a resolved value and where it came from.
type entry struct {
	value  string
	source Source
	origin string // env var name, file path, "admin settings" or "" for the default
}

// String returns the value of a string setting.
func (c *Config) String(key string) string {
	mustSetting(key, TypeString)
	return c.values[key].value
}

// Bool returns the value of a bool setting.
func (c *Config) Bool(key string) bool {
	mustSetting(key, TypeBool)
	return c.values[key].value == "true"
}

// Int returns the value of an int setting.
func (c *Config) Int(key string) int {
	mustSetting(key, TypeInt)
	n, _ := strconv.Atoi(c.values[key].value)
	return n
}

// Duration returns the value of a duration setting.
func (c *Config) Duration(key string) time.Duration {
	mustSetting(key, TypeDuration)
	d, _ := time.ParseDuration(c.values[key].value)
	return d
}

// List returns the items of a list setting (comma-separated in env and admin
// values), trimmed, without empty items; nil when there are none.
func (c *Config) List(key string) []string {
	mustSetting(key, TypeList)
	return splitList(c.values[key].value)
}

// Source returns the layer key's value came from. It panics on an unknown key.
func (c *Config) Source(key string) Source {
	return c.entry(key).source
}

// Locked reports whether an environment variable sets key, so that the admin
// UI must not change it. It panics on an unknown key.
func (c *Config) Locked(key string) bool {
	return c.entry(key).source == SourceEnv
}

// File returns the path of the config file read, or "" when there was none.
func (c *Config) File() string {
	return c.file
}

func (c *Config) entry(key string) entry {
	e, ok := c.values[key]
	if !ok {
		panic("config: unknown setting " + key)
	}
	return e
}

// Text returns key's value as text, normalized as Validate returns it, whatever its type. It
// panics on an unknown key.
func (c *Config) Text(key string) string {
	return c.entry(key).value
}

// Origin returns what set key: the environment variable, the config file's path, "admin settings",
// or "" for the default. It panics on an unknown key.
func (c *Config) Origin(key string) string {
	return c.entry(key).origin
}
