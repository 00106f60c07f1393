package web

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/labstack/echo/v4"
)

// Proxies is the set of reverse proxies whose X-Forwarded-For is believed.
// Without any, the client IP is the TCP peer, so a spoofed header cannot
// dodge a rate limit.
type Proxies struct {
	prefixes []netip.Prefix
}

// NewProxies parses CIDRs and bare addresses.
func NewProxies(cidrs []string) (*Proxies, error) {
	p := &Proxies{}
	for _, s := range cidrs {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("web: trusted proxy %q is not an IP address or CIDR", s)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		p.prefixes = append(p.prefixes, pfx.Masked())
	}
	return p, nil
}

// IPExtractor is the echo.IPExtractor to install as e.IPExtractor: the direct
// peer when no proxy is trusted, else the right-most untrusted address of
// X-Forwarded-For, trusting only the configured ranges (not loopback, link
// local or private networks by default).
func (p *Proxies) IPExtractor() echo.IPExtractor {
	if p == nil || len(p.prefixes) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, pfx := range p.prefixes {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{
			IP:   net.IP(pfx.Addr().AsSlice()),
			Mask: net.CIDRMask(pfx.Bits(), pfx.Addr().BitLen()),
		}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// trustsPeer reports whether the TCP peer is a trusted proxy.
func (p *Proxies) trustsPeer(remoteAddr string) bool {
	if p == nil || len(p.prefixes) == 0 {
		return false
	}
	a, ok := peerAddr(remoteAddr)
	if !ok {
		return false
	}
	for _, pfx := range p.prefixes {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}
