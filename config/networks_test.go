package config

import (
	"net/netip"
	"testing"
)

func TestParseNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.0/8":          "10.0.0.0/8",
		" 192.0.2.7 ":         "192.0.2.7/32",
		"2001:db8::/32":       "2001:db8::/32",
		"::1":                 "::1/128",
		"::ffff:10.0.0.0/104": "10.0.0.0/8",
		"::ffff:10.0.0.7":     "10.0.0.7/32",
	} {
		got, err := ParseNetwork(in)
		if err != nil || got != netip.MustParsePrefix(want) {
			t.Errorf("ParseNetwork(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10.0.0.0/33", "10.1.2.3/8", "haproxy", "fe80::1%eth0", "10.0.0.0/8/8"} {
		if p, err := ParseNetwork(in); err == nil {
			t.Errorf("ParseNetwork(%q) = %v, want an error", in, p)
		}
	}
	if _, err := ParseNetworks([]string{"10.0.0.0/8", "x"}); err == nil || err.Error()[:3] != "[1]" {
		t.Errorf("ParseNetworks names the bad entry: %v", err)
	}
}
