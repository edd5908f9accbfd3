package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseNetwork reads one entry of a trusted_proxies list: a CIDR
// ("10.0.0.0/8", "2001:db8::/32") or a single address ("10.0.0.7", which
// is 10.0.0.7/32). A CIDR with host bits set ("10.1.2.3/8") is refused,
// because it usually means another network than the one written.
func ParseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("empty; want a CIDR such as 10.0.0.0/8 or an address")
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR such as 10.0.0.0/8 nor an IP address", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8: %v", s, err)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%q has bits set past its /%d prefix; write %s", s, p.Bits(), m)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		// ::ffff:10.0.0.0/104 is 10.0.0.0/8: peers are matched unmapped.
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, nil
}

// ParseNetworks reads a trusted_proxies list; see ParseNetwork.
func ParseNetworks(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		p, err := ParseNetwork(s)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}
