package config_test

import (
	"strings"
	"testing"

	"github.com/sesame-works/sesame/config"
	"github.com/sesame-works/sesame/sandbox/egress"
)

// TestHostRules checks the domain entries the admin settings accept against the egress proxy that
// reads them: everything accepted here is an entry the proxy can match.
func TestHostRules(t *testing.T) {
	for _, tt := range []struct {
		entry     string
		endpoints bool
		ok        bool
	}{
		{"example.com", false, true},
		{"Example.COM.", false, true},
		{"*.example.com", false, true},
		{"api_1.example.com", false, true},
		{"203.0.113.7", false, true},
		{"2001:db8::1", false, true},
		{"[2001:db8::1]", false, true},
		{"db.internal:5432", true, true},
		{"10.0.0.5:8443", true, true},
		{"[2001:db8::1]:443", true, true},
		{"db.internal:5432", false, false}, // a port cannot be denied on its own
		{"*.com", false, false},
		{"*example.com", false, false},
		{"a.*.example.com", false, false},
		{"exa mple.com", false, false},
		{"https://example.com", false, false},
		{"example.com/path", false, false},
		{"-bad.example.com", false, false},
		{"bad-.example.com", false, false},
		{"1.2.3", false, false},
		{strings.Repeat("a", 64) + ".com", false, false},
		{"host:0", true, false},
		{"host:65536", true, false},
		{"host:http", true, false},
		{"", false, false},
	} {
		err := config.CheckHostRule(tt.entry, tt.endpoints)
		if (err == nil) != tt.ok {
			t.Errorf("CheckHostRule(%q, %v) = %v; want ok=%v", tt.entry, tt.endpoints, err, tt.ok)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), tt.entry) {
				t.Errorf("CheckHostRule(%q): %q does not name the entry", tt.entry, err)
			}
			continue
		}
		rules := egress.Rules{AllowedDomains: []string{tt.entry}}
		if strings.Contains(strings.Trim(tt.entry, "[]"), "]:") || (tt.endpoints && strings.Count(tt.entry, ":") == 1) {
			rules = egress.Rules{Endpoints: []string{tt.entry}}
		}
		if err := rules.Validate(); err != nil {
			t.Errorf("%q is accepted by the settings but not by the egress proxy: %v", tt.entry, err)
		}
	}
}

// TestFormats checks that values of the wrong shape are refused wherever they come from.
func TestFormats(t *testing.T) {
	for key, bad := range map[string]string{
		config.AIBaseURL:             "api.openai.com/v1",
		config.GitHubAPIURL:          "ftp://github.example/",
		config.SMTPPort:              "70000",
		config.SandboxDockerCPUs:     "-1",
		config.SandboxDockerMemory:   "lots",
		config.SandboxDeniedDomains:  "ok.example, nope.example:443",
		config.SandboxAllowedDomains: "ok.example,*.*.example",
	} {
		if _, err := config.Validate(key, bad); err == nil {
			t.Errorf("Validate(%s, %q) accepted it", key, bad)
		}
	}
	for key, good := range map[string]string{
		config.AIBaseURL:             "",
		config.GitHubAPIURL:          "https://ghe.example/api/v3/",
		config.SMTPPort:              "465",
		config.SandboxDockerCPUs:     "0.5",
		config.SandboxDockerMemory:   "512M",
		config.SandboxAllowedDomains: "pypi.org, *.npmjs.org, registry.internal:8443",
	} {
		if _, err := config.Validate(key, good); err != nil {
			t.Errorf("Validate(%s, %q): %v", key, good, err)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"4g": 4 << 30, "512m": 512 << 20, "2GB": 2 << 30, "1048576": 1 << 20, "2048k": 2 << 20} {
		if got, err := config.ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1g", "1k", "g", "4t", "1.5g"} {
		if _, err := config.ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) accepted it", in)
		}
	}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, " 0 ": 0, "20g": 20 << 30, "512m": 512 << 20} {
		if got, err := config.ParseLimit(in); err != nil || got != want {
			t.Errorf("ParseLimit(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "00", "-1g", "1k", "none"} {
		if _, err := config.ParseLimit(in); err == nil {
			t.Errorf("ParseLimit(%q) accepted it", in)
		}
	}
}

// TestBudgetFormats: the budget settings take amounts of dollars (0 for none) and the price table
// takes entries sesame.ParsePrices reads; the admin page refuses anything else.
func TestBudgetFormats(t *testing.T) {
	for _, tt := range []struct {
		key, value string
		ok         bool
	}{
		{config.TasksCostBudget, "5.00", true},
		{config.TasksCostBudget, "0", true},
		{config.TasksCostBudget, "0.05", true},
		{config.TasksCostBudget, "-1", false},
		{config.TasksCostBudget, "2.505", false},
		{config.TasksCostBudget, "five", false},
		{config.TasksMaxCostBudget, "20", true},
		{config.TasksUserMonthlyBudget, "150.50", true},
		{config.TasksUserMonthlyBudget, "1e3", false},
		{config.TasksModelPrices, "claude-opus-4-8 5 25 0.5 6.25, gpt-5.5 5 30", true},
		{config.TasksModelPrices, "", true},
		{config.TasksModelPrices, "gpt-5.5 5", false},
		{config.TasksModelPrices, "gpt-5.5 5 thirty", false},
		{config.TasksModelPrices, "gpt-5.5 5 30,gpt-5.5 1 2", false},
	} {
		_, err := config.Validate(tt.key, tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%s, %q) = %v; want ok=%v", tt.key, tt.value, err, tt.ok)
		}
	}
}
