package config

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

// loadBytes writes data as the config file name in dir, loads it with environ and removes it.
func loadBytes(t *testing.T, dir, name string, data []byte, environ map[string]string) (*Config, error) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	return Load(Options{Dir: dir, Getenv: env(environ)})
}

// checkCleanError fails unless err reads as a message for an operator: valid UTF-8 without control
// characters other than line breaks and tabs (so a file cannot write escape sequences into the
// log), and without a recovered panic's text.
func checkCleanError(t *testing.T, input any, err error) {
	t.Helper()
	msg := err.Error()
	if msg == "" || !utf8.ValidString(msg) {
		t.Fatalf("input %q: error %q is empty or not UTF-8", input, msg)
	}
	for _, r := range msg {
		if (r < 0x20 && r != '\n' && r != '\t') || (0x7f <= r && r < 0xa0) {
			t.Fatalf("input %q: error %q holds the control character %U", input, msg, r)
		}
	}
	if strings.Contains(msg, "runtime error") || strings.Contains(msg, "goroutine ") {
		t.Fatalf("input %q: error %q shows a panic", input, msg)
	}
}

// FuzzFileRoundTrip loads arbitrary bytes as each kind of config file and checks that:
//
//   - a refusal is a clean message (checkCleanError) that starts with the file's path;
//   - what is accepted comes from the file, and reads the same when written back as a file in
//     every format (strings as strings, lists as lists): the file layer is a round trip.
//
// (FuzzLoadFile checks the accessors on what is accepted.) Run it with a short
// -fuzzminimizetime, as FuzzLoadFile says.
func FuzzFileRoundTrip(f *testing.F) {
	f.Add(Example(), uint8(2))
	for name, content := range sameSettings {
		for i, n := range fileNames {
			if n == name {
				f.Add([]byte(content), uint8(i))
			}
		}
	}
	f.Add([]byte("smtp:\n  from: \"Sesame \\u0000 <a@b.c>\\u2028\"\n  user: \"\\x85\"\noidc: {scopes: \" a , ,b \"}\n"), uint8(2))
	f.Add([]byte(`{"ai": {"model": "\u001b[31mred"}, "smtp": {"port": 1e2}}`), uint8(0))
	f.Add([]byte("[ai]\nmodel = \"\"\"\nline\n\"\"\"\n[smtp]\nfrom = 'it''s'\n"), uint8(4))
	f.Add([]byte("{\"ai\": {\"model\": \"a\tb\"}}"), uint8(1))
	f.Add([]byte("ai:\n  model: !!binary aGk=\n"), uint8(3))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		name := fileNames[int(which)%len(fileNames)]
		c, err := loadBytes(t, dir, name, data, nil)
		if err != nil {
			checkCleanError(t, data, err)
			if !strings.HasPrefix(err.Error(), filepath.Join(dir, name)) {
				t.Fatalf("%s %q: error %q does not start with the file's path", name, data, err)
			}
			return
		}
		values := maps.Clone(c.fileValues)
		for key := range values {
			if c.Source(key) != SourceFile {
				t.Fatalf("%s %q: %s is in the file but its source is %s", name, data, key, c.Source(key))
			}
		}
		tree := map[string]any{}
		for key, v := range values {
			var leaf any = v
			if byKey[key].Type == TypeList {
				leaf = append([]string{}, splitList(v)...) // [] rather than null, which is "not set"
			}
			m, parts := tree, strings.Split(key, ".")
			for _, p := range parts[:len(parts)-1] {
				if m[p] == nil {
					m[p] = map[string]any{}
				}
				m = m[p].(map[string]any)
			}
			m[parts[len(parts)-1]] = leaf
		}
		// Written back, each file goes through the same parseFile as Load's, without the disk.
		for _, out := range []string{"config.json", "config.jsonc", "config.yaml", "config.toml"} {
			written := encodeTree(t, out, tree)
			form, _ := formatOf(out)
			got, err := parseFile(out, form, written)
			if err != nil {
				t.Fatalf("%s %q loads %v; written back as %s it fails: %v\n%s", name, data, values, out, err, written)
			}
			if !maps.Equal(got, values) {
				t.Fatalf("%s %q loads %v; written back as %s it loads %v\n%s", name, data, values, out, got, written)
			}
		}
	})
}

// encodeTree writes tree as a config file of name's format with the standard encoders.
func encodeTree(t *testing.T, name string, tree map[string]any) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch filepath.Ext(name) {
	case ".json", ".jsonc":
		err = json.NewEncoder(&b).Encode(tree)
	case ".yaml":
		err = yaml.NewEncoder(&b).Encode(tree)
	case ".toml":
		err = toml.NewEncoder(&b).Encode(tree)
	}
	if err != nil {
		t.Fatalf("encode %v as %s: %v", tree, name, err)
	}
	return b.Bytes()
}

// secretToken makes a secret from fuzzed text: at least 8 of the characters API keys are made of.
func secretToken(s string) string {
	var b strings.Builder
	for _, r := range s {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		}
	}
	for b.Len() < 8 {
		b.WriteString("Qx7")
	}
	return b.String()
}

// otherToken returns a secret as long as s that differs from it at every letter and digit.
func otherToken(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return 'a' + (r-'a'+13)%26
		case 'A' <= r && r <= 'Z':
			return 'A' + (r-'A'+13)%26
		case '0' <= r && r <= '9':
			return '0' + (r-'0'+5)%10
		}
		return r
	}, s)
}

// leaks reports a run of 8 characters of secret (all of it when shorter) that msg holds but
// other, the same message made with another secret, does not: text that came from the secret.
func leaks(msg, other, secret string) (string, bool) {
	n := min(8, len(secret))
	for i := 0; i+n <= len(secret); i++ {
		if sub := secret[i : i+n]; strings.Contains(msg, sub) && !strings.Contains(other, sub) {
			return sub, true
		}
	}
	return "", false
}

// fileSecrets are the secret settings a config file may set.
var fileSecrets = func() []Setting {
	var out []Setting
	for _, s := range registry {
		if s.Secret && s.FromFile() {
			out = append(out, s)
		}
	}
	return out
}()

// secretFile writes a file that sets the secret setting s to text made of before, the secret and
// after, on one line, followed by rest. before and after lose line breaks, the characters that
// could end the value (':', ',', '=', '{', '}') and YAML's anchors and aliases (which could copy
// the value elsewhere), so that whatever they make of it the text is the value of s: quoted or
// not, with escapes, tags or garbage around it.
func secretFile(f format, s Setting, before, secret, after string, rest []byte) []byte {
	clean := func(x string) string {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune("\r\n:,={}&*\u0085\u2028\u2029", r) {
				return -1
			}
			return r
		}, x)
	}
	group, leaf, _ := strings.Cut(s.Key, ".")
	value := clean(before) + secret + clean(after)
	var b bytes.Buffer
	switch f {
	case formatYAML:
		b.WriteString(group + ":\n  " + leaf + ": " + value + "\n")
	case formatTOML:
		b.WriteString("[" + group + "]\n" + leaf + " = " + value + "\n")
	default:
		b.WriteString(`{"` + group + `": {"` + leaf + `": ` + value)
	}
	b.Write(rest)
	return b.Bytes()
}

// FuzzLoadSecrets checks that no error Load, CheckRequired or GitHubPrivateKey returns shows a
// secret, however badly the file writes it: a secret setting's value in the file is the secret
// with fuzzed text around it (missing or broken quotes, escapes, tags), followed by a fuzzed rest
// of the file, and one environment variable is set (a secret one to a secret). The check is
// differential: a run of the secret found in an error must not be there when the same input is
// loaded with another secret of the same shape. Describe must mask the secrets too.
func FuzzLoadSecrets(f *testing.F) {
	for i := range fileNames {
		for _, v := range [][2]string{{`"`, `"`}, {``, ``}, {`"`, `\q"`}, {`"`, ``}, {`'`, `"`}, {`!!int `, ``}, {`"`, "\t\""}} {
			f.Add(uint8(i), v[0], "sk-live-AbCdEf123456", v[1], []byte("\n"), uint8(0), "")
		}
	}
	f.Add(uint8(0), `"`, "fAbCdEfGhIj42", `"`, []byte("}}"), uint8(3), "x")
	f.Add(uint8(4), ``, "fAbCdEfGhIj42", ``, []byte("[smtp]\nport = 1\n"), uint8(5), "12")
	f.Add(uint8(2), ``, "ghp_0123456789abcdef", ``, []byte("smtp:\n  port: x\n"), uint8(7), "")
	f.Add(uint8(1), `"`, "00123_456", `"`, []byte("}, \"ai\": {\"model\": 00123_456}}"), uint8(9), "no")
	f.Add(uint8(4), ``, "0123_4567", ``, []byte{}, uint8(11), "-1")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, which uint8, before, secret, after string, rest []byte, envIdx uint8, envValue string) {
		name := fileNames[int(which)%len(fileNames)]
		form, _ := formatOf(name)
		s := fileSecrets[int(which)/len(fileNames)%len(fileSecrets)]
		e := registry[int(envIdx)%len(registry)]
		sec := secretToken(secret)

		load := func(sec string) []string {
			environ := map[string]string{e.Env: envValue}
			if e.Key == GitHubPrivateKeyPath {
				delete(environ, e.Env)
			}
			if e.Secret {
				environ[e.Env] = "env-" + sec
			}
			c, err := loadBytes(t, dir, name, secretFile(form, s, before, sec, after, rest), environ)
			if err != nil {
				checkCleanError(t, secretFile(form, s, before, sec, after, rest), err)
				return []string{err.Error()}
			}
			msgs := []string{}
			if err := c.CheckRequired(); err != nil {
				msgs = append(msgs, err.Error())
			}
			// Not when the key comes from a file the fuzzer names: it could be /dev/zero.
			if c.String(GitHubPrivateKey) != "" || c.String(GitHubPrivateKeyPath) == "" {
				if _, err := c.GitHubPrivateKey(); err != nil {
					msgs = append(msgs, err.Error())
				}
			}
			for _, v := range c.Describe() {
				if v.Secret {
					msgs = append(msgs, v.Value)
				}
			}
			return msgs
		}
		got := load(sec)
		// Another secret may change the outcome (a number in one format, not in another): compare
		// with all that the other load said.
		other := strings.Join(load(otherToken(sec)), "\n")
		for i := range got {
			if run, ok := leaks(got[i], other, sec); ok {
				t.Fatalf("%s setting %s to %q: %q shows %q of the secret",
					name, s.Key, secretFile(form, s, before, sec, after, rest), got[i], run)
			}
		}
	})
}

// FuzzLoadEnv sets one setting's environment variable to an arbitrary value and checks that Load
// accepts it exactly when it is blank or valid for the setting's type, that an accepted value
// locks the setting with its normalized form, that a refusal names the variable on one line, and
// that a blank one leaves the setting to the lower layers.
func FuzzLoadEnv(f *testing.F) {
	for i, s := range registry {
		f.Add(uint8(i), s.Default)
	}
	for _, v := range []string{"", "  ", " true ", "1", "-1", "0x10", "1h30m", "0s", "a,,b , c", "\x00", "yes", "debug\n"} {
		f.Add(uint8(0), v)
	}
	dir := f.TempDir() // holds no config file
	f.Fuzz(func(t *testing.T, idx uint8, value string) {
		s := registry[int(idx)%len(registry)]
		c, err := Load(Options{Dir: dir, Getenv: env(map[string]string{s.Env: value})})
		want, werr := normalize(s, value)
		switch {
		case strings.TrimSpace(value) == "":
			if err != nil {
				t.Fatalf("%s=%q (blank): %v", s.Env, value, err)
			}
			if c.Source(s.Key) != SourceDefault {
				t.Fatalf("%s=%q (blank): source %v; want the default", s.Env, value, c.Source(s.Key))
			}
		case werr != nil:
			if err == nil {
				t.Fatalf("%s=%q: accepted, but it is not %s", s.Env, value, expected(s))
			}
			checkCleanErrorLine(t, value, err, s.Env)
		default:
			if err != nil {
				t.Fatalf("%s=%q: %v", s.Env, value, err)
			}
			if got := c.values[s.Key]; got.value != want || got.source != SourceEnv || !c.Locked(s.Key) || got.origin != s.Env {
				t.Fatalf("%s=%q: %+v, want %q locked by the variable", s.Env, value, got, want)
			}
			if again, err := normalize(s, want); err != nil || again != want {
				t.Fatalf("%s=%q: normalized %q normalizes again to %q, %v", s.Env, value, want, again, err)
			}
		}
	})
}

// checkCleanErrorLine is checkCleanError for an error that must be one line naming env.
func checkCleanErrorLine(t *testing.T, input string, err error, env string) {
	t.Helper()
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), env) {
		t.Fatalf("%s=%q: error %q is not one line naming the variable", env, input, err)
	}
	checkCleanError(t, input, err)
}
