package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadFile feeds arbitrary bytes to Load as each kind of config file.
// Load may reject them but must never panic, and what it accepts must be
// valid for the accessors. Run it with
//
//	go test ./config -run '^$' -fuzz FuzzLoadFile -fuzztime 20s -fuzzminimizetime 2s
//
// (a short -fuzzminimizetime keeps the fuzzer from spending the run minimizing
// the large seed inputs).
func FuzzLoadFile(f *testing.F) {
	f.Add(Example(), uint8(2))
	for name, content := range sameSettings {
		for i, n := range fileNames {
			if n == name {
				f.Add([]byte(content), uint8(i))
			}
		}
	}
	f.Add([]byte(`{"ai": {"model": 1e400}, "smtp": {"port": -0}}`), uint8(0))
	f.Add([]byte("smtp:\n  port: &p 1\n  secure: *p\noidc: {scopes: [a, [b]]}\n"), uint8(2))
	f.Add([]byte("[sandbox]\nprovider = 1979-05-27\n[[smtp]]\nhost = 'x'\n"), uint8(4))
	f.Add([]byte("/* unterminated"), uint8(1))
	dir := f.TempDir() // one per fuzzing process; each input removes its file
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		path := filepath.Join(dir, fileNames[int(which)%len(fileNames)])
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		c, err := Load(Options{Dir: dir, Getenv: env(nil)})
		if err != nil {
			return
		}
		// Every accepted value reads through its accessor and stays as it is
		// when validated again.
		for _, s := range Settings() {
			v := c.values[s.Key].value
			if n, err := normalize(s, v); err != nil || n != v {
				t.Fatalf("%s = %q accepted but normalizes to %q, %v", s.Key, v, n, err)
			}
			switch s.Type {
			case TypeString:
				c.String(s.Key)
			case TypeBool:
				c.Bool(s.Key)
			case TypeInt:
				c.Int(s.Key)
			case TypeDuration:
				c.Duration(s.Key)
			case TypeList:
				c.List(s.Key)
			}
		}
		c.Describe()
		c.Secrets()
		_ = c.CheckRequired()
	})
}
