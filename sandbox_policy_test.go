package sesame

import (
	"slices"
	"testing"
)

func TestSandboxPolicySecured(t *testing.T) {
	on, off := true, false
	for _, tt := range []struct {
		enabled, allowDisable bool
		asked                 *bool
		want                  bool
	}{
		{true, false, nil, true},
		{true, false, &off, true}, // required: the task cannot turn it off
		{true, true, &off, false}, // the admin lets users turn it off
		{true, true, nil, true},
		{false, false, nil, false},
		{false, false, &on, true},
		{false, true, &on, true},
		{false, true, &off, false},
	} {
		p := SandboxPolicy{SecurityEnabled: tt.enabled, AllowDisable: tt.allowDisable}
		if got := p.Secured(tt.asked); got != tt.want {
			asked := "nil"
			if tt.asked != nil {
				asked = map[bool]string{true: "on", false: "off"}[*tt.asked]
			}
			t.Errorf("enabled=%v allowDisable=%v asked=%s: Secured = %v, want %v", tt.enabled, tt.allowDisable, asked, got, tt.want)
		}
	}
}

func TestSandboxPolicyDomains(t *testing.T) {
	p := SandboxPolicy{AllowedDomains: []string{"pypi.org", "*.npmjs.org", "registry.internal:8443", "10.0.0.5:5432", "2001:db8::1", "[2001:db8::2]:443"}}
	hosts, endpoints := p.Domains()
	if want := []string{"pypi.org", "*.npmjs.org", "2001:db8::1"}; !slices.Equal(hosts, want) {
		t.Errorf("hosts = %v, want %v", hosts, want)
	}
	if want := []string{"registry.internal:8443", "10.0.0.5:5432", "[2001:db8::2]:443"}; !slices.Equal(endpoints, want) {
		t.Errorf("endpoints = %v, want %v", endpoints, want)
	}
}
