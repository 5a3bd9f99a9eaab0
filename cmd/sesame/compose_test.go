package main_test

import (
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sesame-works/sesame/config"
)

// composeFile is the part of compose.yaml this test reads.
type composeFile struct {
	Services map[string]struct {
		Build       any               `yaml:"build"`
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck struct {
			Test    []string `yaml:"test"`
			Disable bool     `yaml:"disable"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// interpolation is compose's ${NAME}, ${NAME:-default} or ${NAME:?message}.
var interpolation = regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)(:?[-?][^}]*)?\}`)

// compose.yaml cannot be run here (no registry is reachable), so this holds it to Sesame: the four
// services, the same database and queue for web and worker, only real settings, healthchecks on the
// web's /readyz and the data stores, and the volumes that keep data.
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("../../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, name := range []string{"web", "worker", "postgres", "redis"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("compose.yaml has no service %q", name)
		}
	}
	web, worker, pg := c.Services["web"], c.Services["worker"], c.Services["postgres"]

	settings := map[string]bool{}
	for _, s := range config.Settings() {
		for _, env := range s.EnvNames() {
			settings[env] = true
		}
	}
	for _, svc := range []string{"web", "worker"} {
		s := c.Services[svc]
		if s.Build != "." {
			t.Errorf("%s: build = %v, want . (the repository's Dockerfile)", svc, s.Build)
		}
		if want := []string{"serve", "--role", svc}; !slices.Equal(s.Command, want) {
			t.Errorf("%s: command = %q, want %q", svc, s.Command, want)
		}
		for name := range s.Environment {
			if !settings[name] {
				t.Errorf("%s: %s is not a Sesame setting (config.Settings)", svc, name)
			}
		}
		for _, st := range config.Settings() {
			if st.Required && s.Environment[st.Env] == "" {
				t.Errorf("%s: the required setting %s is not set", svc, st.Env)
			}
		}
		for _, dep := range []string{"postgres", "redis"} {
			if s.DependsOn[dep].Condition != "service_healthy" {
				t.Errorf("%s: depends on %s with condition %q, want service_healthy", svc, dep, s.DependsOn[dep].Condition)
			}
		}
		if !slices.Contains(s.Volumes, "tasks:"+s.Environment["TASK_DIR_BASE"]) {
			t.Errorf("%s: the tasks volume is not mounted at TASK_DIR_BASE (%q): volumes %q", svc, s.Environment["TASK_DIR_BASE"], s.Volumes)
		}
	}
	for _, name := range []string{"DATABASE_URL", "REDIS_URL", "TASK_DIR_BASE", "ENCRYPTION_KEY", "BETTER_AUTH_SECRET"} {
		if web.Environment[name] == "" || web.Environment[name] != worker.Environment[name] {
			t.Errorf("%s: web has %q, worker %q; want the same, set", name, web.Environment[name], worker.Environment[name])
		}
	}

	// DATABASE_URL names the postgres service's user and database, with its password.
	dbURL := web.Environment["DATABASE_URL"]
	if m := interpolation.FindStringSubmatch(pg.Environment["POSTGRES_PASSWORD"]); m == nil || !strings.Contains(dbURL, ":${"+m[1]) {
		t.Errorf("DATABASE_URL %q does not use the postgres service's password %q", dbURL, pg.Environment["POSTGRES_PASSWORD"])
	}
	db, err := url.Parse(interpolation.ReplaceAllString(dbURL, "secret"))
	if err != nil {
		t.Fatalf("DATABASE_URL: %v", err)
	}
	if db.Host != "postgres:5432" || db.User.Username() != pg.Environment["POSTGRES_USER"] ||
		strings.TrimPrefix(db.Path, "/") != pg.Environment["POSTGRES_DB"] {
		t.Errorf("DATABASE_URL %q does not name the postgres service's user and database (%v)", dbURL, pg.Environment)
	}
	if r, err := url.Parse(web.Environment["REDIS_URL"]); err != nil || r.Host != "redis:6379" {
		t.Errorf("REDIS_URL %q does not name the redis service", web.Environment["REDIS_URL"])
	}

	if !strings.Contains(strings.Join(web.Healthcheck.Test, " "), "/readyz") {
		t.Errorf("web's healthcheck %q does not ask /readyz", web.Healthcheck.Test)
	}
	if !worker.Healthcheck.Disable {
		t.Errorf("worker's healthcheck is not disabled: it serves no /healthz")
	}
	for _, svc := range []string{"postgres", "redis"} {
		if len(c.Services[svc].Healthcheck.Test) == 0 {
			t.Errorf("%s has no healthcheck", svc)
		}
	}
	if !slices.Contains(pg.Volumes, "postgres:/var/lib/postgresql/data") {
		t.Errorf("postgres keeps its data nowhere: volumes %q", pg.Volumes)
	}
	for _, v := range []string{"postgres", "tasks"} {
		if _, ok := c.Volumes[v]; !ok {
			t.Errorf("no volume %q declared", v)
		}
	}
	if _, err := os.Stat("../../Dockerfile"); err != nil {
		t.Errorf("web and worker build the Dockerfile: %v", err)
	}
}
