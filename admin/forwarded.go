package admin

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// maxForwardedHops bounds how many X-Forwarded-For entries are looked
// at, right to left: a client cannot make the API walk a long header.
const maxForwardedHops = 32

// source is the address a request comes from, for the login throttle and
// the audit log: the peer's (host:port), or, when the peer is one of
// Options.TrustedProxies, the address X-Forwarded-For names. Each trusted
// proxy appends the address it was reached from, so the header is read
// from the right, over the trusted proxies, to the first address that is
// not one: the caller. Anything to its left was written by the caller and
// is not believed. An entry that is not an IP address ends the walk at the
// trusted proxy that passed it on.
func (s *Server) source(r *http.Request) string {
	if len(s.o.TrustedProxies) == 0 {
		return r.RemoteAddr
	}
	peer, ok := remoteIP(r.RemoteAddr)
	if !ok || !s.trustedProxy(peer) {
		return r.RemoteAddr
	}
	from := r.RemoteAddr // the nearest hop believed so far
	hops := 0
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		entries := strings.Split(values[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			e := strings.TrimSpace(entries[j])
			if e == "" && len(entries) > 1 {
				continue // "a, , b" or a trailing comma
			}
			if hops++; hops > maxForwardedHops {
				return from
			}
			ip, ok := forwardedIP(e)
			if !ok {
				return from
			}
			from = ip.String()
			if !s.trustedProxy(ip) {
				return from
			}
		}
	}
	// Every hop is a trusted proxy: the left-most is the furthest known.
	return from
}

func (s *Server) trustedProxy(ip netip.Addr) bool {
	for _, p := range s.o.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// remoteIP is the IP address of a host:port.
func remoteIP(hostport string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap().WithZone(""), true
}

// forwardedIP reads one X-Forwarded-For entry: an IP address, which some
// proxies write with a port ("192.0.2.7:5000", "[2001:db8::1]:5000").
func forwardedIP(e string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(e); err == nil && ip.Zone() == "" {
		return ip.Unmap(), true
	}
	if host, _, err := net.SplitHostPort(e); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil && ip.Zone() == "" {
			return ip.Unmap(), true
		}
	}
	return netip.Addr{}, false
}
