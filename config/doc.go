// Package config is the one registry of every Sesame setting and the code that
// layers their values.
//
// Each setting has a key (its path in the config file, such as
// "registration.allowNewUsers"), an environment variable, a type and a
// default. Load resolves every setting from these layers, highest first:
//
//  1. the environment: a set, non-blank variable wins and locks the setting,
//     so the admin UI shows it as locked and refuses to change it;
//  2. values saved in the admin UI (a Layer, backed by Postgres);
//  3. the config file: exactly one of config.json, config.jsonc, config.yaml,
//     config.yml or config.toml, written as nested objects by key;
//  4. the built-in default.
//
// Some settings come only from the environment (Setting.EnvOnly: the session
// secret, the base URL and the encryption key); others are read before the
// database is reachable and so never come from the admin layer
// (Setting.Startup). Every value is validated against its type when it is
// loaded, so the typed accessors of Config never fail on a loaded value.
package config
