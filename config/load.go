package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Source says which layer a setting's value came from.
type Source string

// Sources, lowest layer first.
const (
	SourceDefault Source = "default"
	SourceFile    Source = "file"
	SourceAdmin   Source = "admin"
	SourceEnv     Source = "env"
)

// Layer holds values saved in the admin UI. Lookup returns the saved value of
// a key and whether one is saved. Load and WithAdmin ask only for keys whose
// Setting.FromAdmin is true and that no environment variable locks, and they
// validate every answer; a saved empty string is a value (it clears a string
// or list setting) and is an error for other types. Use Validate before
// saving so that a bad value never reaches the layer.
type Layer interface {
	Lookup(key string) (value string, ok bool)
}

// MapLayer is a Layer held in memory, keyed by setting key.
type MapLayer map[string]string

// Lookup implements Layer.
func (m MapLayer) Lookup(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

var _ Layer = MapLayer(nil)

// Options says where Load finds its layers.
type Options struct {
	Path   string                      // explicit --config path; "" = look in Dir
	Dir    string                      // directory to look in; "" = working directory
	Getenv func(string) (string, bool) // nil = os.LookupEnv
	Admin  Layer                       // nil = none yet
}

// envValue is a value taken from the environment, with the variable that held it.
type envValue struct {
	value string
	name  string
}

// Load reads the environment and the config file, layers them with
// opts.Admin over the defaults and validates every value. The error lists
// every problem found: several config files, an unreadable or malformed file,
// unknown keys (with a suggestion), values of the wrong type, environment-only
// settings in the file, malformed environment variables or admin values.
// Load does not check the required settings; call CheckRequired for that.
//
// An explicit opts.Path must exist and is read whatever opts.Dir says.
func Load(opts Options) (*Config, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.LookupEnv
	}
	var errs []error
	path, err := findFile(opts)
	if err != nil {
		errs = append(errs, err)
	}
	var file map[string]string
	if path != "" {
		if file, err = readFile(path); err != nil {
			errs = append(errs, err)
		}
	}
	env, err := readEnv(getenv)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := &Config{file: path, fileValues: file, env: env}
	return c.WithAdmin(opts.Admin)
}

// readEnv returns the value of every setting whose variable (or, failing
// that, an alias) is set to something other than blank.
func readEnv(getenv func(string) (string, bool)) (map[string]envValue, error) {
	out := map[string]envValue{}
	var errs []error
	for _, s := range registry {
		for _, name := range s.EnvNames() {
			raw, ok := getenv(name)
			if !ok || strings.TrimSpace(raw) == "" {
				continue
			}
			v, err := normalize(s, raw)
			if err != nil {
				errs = append(errs, fmt.Errorf("environment variable %s (%s): %w", name, s.Key, err))
			} else {
				out[s.Key] = envValue{value: v, name: name}
			}
			break
		}
	}
	return out, errors.Join(errs...)
}

// WithAdmin returns a new Config whose admin layer is l (nil for none),
// keeping c's environment and file. c is unchanged. The error lists every
// admin value of the wrong type.
func (c *Config) WithAdmin(l Layer) (*Config, error) {
	admin := map[string]string{}
	var errs []error
	if l != nil {
		for _, s := range registry {
			if !s.FromAdmin() {
				continue
			}
			if _, locked := c.env[s.Key]; locked {
				continue
			}
			raw, ok := l.Lookup(s.Key)
			if !ok {
				continue
			}
			v, err := normalize(s, raw)
			if err != nil {
				errs = append(errs, fmt.Errorf("admin settings: %s: %w", s.Key, err))
				continue
			}
			admin[s.Key] = v
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	n := &Config{file: c.file, fileValues: c.fileValues, env: c.env, admin: admin}
	n.resolve()
	return n, nil
}

// Saved is where admins' values are kept (sesame.SettingStore has it).
type Saved interface {
	Settings(ctx context.Context) (map[string]string, error)
}

// WithSaved is WithAdmin with what admins saved in store as it is now: settings that change while
// Sesame runs (sign-ups, sandbox policy) are read through it when they are needed.
func (c *Config) WithSaved(ctx context.Context, store Saved) (*Config, error) {
	saved, err := store.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("saved settings: %w", err)
	}
	return c.WithAdmin(MapLayer(saved))
}

// resolve picks each setting's value from the highest layer that has one.
func (c *Config) resolve() {
	c.values = make(map[string]entry, len(registry))
	for _, s := range registry {
		e := entry{value: s.Default, source: SourceDefault}
		if v, ok := c.fileValues[s.Key]; ok {
			e = entry{value: v, source: SourceFile, origin: c.file}
		}
		if v, ok := c.admin[s.Key]; ok {
			e = entry{value: v, source: SourceAdmin, origin: "admin settings"}
		}
		if v, ok := c.env[s.Key]; ok {
			e = entry{value: v.value, source: SourceEnv, origin: v.name}
		}
		c.values[s.Key] = e
	}
}
