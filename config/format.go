package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	sesame "github.com/sesame-works/sesame"
)

// checkFormat checks a value already normalized for its type against s.Format.
func checkFormat(s Setting, v string) error {
	switch s.Format {
	case FormatURL:
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("expected an http:// or https:// URL, got %q", v)
		}
	case FormatPort:
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("expected a port from 1 to 65535, got %q", v)
		}
	case FormatDecimal:
		if f, err := strconv.ParseFloat(v, 64); err != nil || f <= 0 || f > 1024 {
			return fmt.Errorf("expected a positive number such as 2 or 0.5, got %q", v)
		}
	case FormatBytes:
		if _, err := ParseBytes(v); err != nil {
			return err
		}
	case FormatLimit:
		if _, err := ParseLimit(v); err != nil {
			return err
		}
	case FormatUSD:
		if _, err := sesame.ParseUSD(v); err != nil {
			return fmt.Errorf("expected an amount of US dollars such as 5 or 2.50, got %q", v)
		}
	case FormatPrices:
		if _, err := sesame.ParsePrices(splitList(v)); err != nil {
			return err
		}
	case FormatHosts, FormatEndpoints:
		var bad []string
		for _, e := range splitList(v) {
			if err := CheckHostRule(e, s.Format == FormatEndpoints); err != nil {
				bad = append(bad, err.Error())
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("%s", strings.Join(bad, "; "))
		}
	}
	return nil
}

// CheckHostRule checks one entry of a domain list: a host name (example.com), a wildcard for every
// subdomain (*.example.com) or an IP address; with endpoints, also host:port, one exact endpoint.
// The sandbox's egress proxy reads the same entries (sandbox/egress.Rules).
func CheckHostRule(e string, endpoints bool) error {
	bad := func(why string) error { return fmt.Errorf("%q is not %s: %s", e, ruleForms(endpoints), why) }
	if e == "" || strings.ContainsAny(e, " \t\r\n/") {
		return bad("no spaces or slashes")
	}
	if _, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
		return nil
	}
	if host, port, err := net.SplitHostPort(e); err == nil {
		if !endpoints {
			return bad("a port cannot be denied on its own; deny the host")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad("the port must be 1 to 65535")
		}
		if _, err := netip.ParseAddr(host); err == nil {
			return nil
		}
		if !hostName(host) {
			return bad("the host is not a valid name")
		}
		return nil
	}
	name, wildcard := strings.CutPrefix(e, "*.")
	if strings.Contains(name, "*") {
		return bad("a wildcard is only allowed as a leading *.")
	}
	if !hostName(name) {
		return bad("not a valid host name")
	}
	if wildcard && !strings.Contains(strings.TrimSuffix(name, "."), ".") {
		return bad("a wildcard needs a domain with at least two labels, such as *.example.com")
	}
	return nil
}

func ruleForms(endpoints bool) string {
	if endpoints {
		return "a domain, *.domain, IP address or host:port"
	}
	return "a domain, *.domain or IP address"
}

// hostName reports whether s is a DNS name: labels of letters, digits and hyphens (underscores
// too, as some real names have), 1 to 63 characters, not starting or ending with a hyphen, 253 in
// all, an optional trailing dot, and not all digits (that would be an IP address).
func hostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			ok := c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			if !ok {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	if _, err := strconv.Atoi(last); err == nil {
		return false
	}
	return true
}

// ParseBytes reads a size: a whole number of bytes, or one followed by k, m or g (1024-based, in
// either case, with an optional b: 512m, 4G, 4gb). It must be at least 1 MiB.
func ParseBytes(v string) (int64, error) {
	bad := fmt.Errorf("expected a size such as 4g or 512m, got %q", v)
	s := strings.ToLower(strings.TrimSpace(v))
	s = strings.TrimSuffix(s, "b")
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1<<10, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "m"):
		mult, s = 1<<20, strings.TrimSuffix(s, "m")
	case strings.HasSuffix(s, "g"):
		mult, s = 1<<30, strings.TrimSuffix(s, "g")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, bad
	}
	if n*mult < 1<<20 {
		return 0, fmt.Errorf("%q is less than 1 MiB", v)
	}
	return n * mult, nil
}

// ParseLimit reads a FormatLimit value: a size as ParseBytes reads it, or 0 for no limit (0 is
// returned).
func ParseLimit(v string) (int64, error) {
	if strings.TrimSpace(v) == "0" {
		return 0, nil
	}
	n, err := ParseBytes(v)
	if err != nil {
		return 0, fmt.Errorf("expected a size such as 20g or 512m, or 0 for no limit, got %q", v)
	}
	return n, nil
}
