package app

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// maxForwardedFor bounds the addresses an X-Forwarded-For may list: one per proxy on the way,
// and no real chain has this many.
const maxForwardedFor = 16

// The ways forwarded headers can be malformed; each reason is what the 400 tells the client.
var (
	errForwardedFor   = errors.New("X-Forwarded-For must list IP addresses, comma-separated")
	errForwardedLong  = errors.New("X-Forwarded-For lists more than 16 addresses")
	errForwardedProto = errors.New("X-Forwarded-Proto must be http or https, once")
	errForwardedHost  = errors.New("X-Forwarded-Host must be one host name or address, with an optional port")
)

// The values of clientView.IPFrom.
const (
	ipFromForwardedFor = "x-forwarded-for"
	ipFromPeer         = "peer"
)

// clientView is what the frontend was told about its caller: the connection's peer, and what
// a proxy in front of it (an Ingress controller) said in X-Forwarded-For, -Proto and -Host.
// None of it is verified, and none of it decides anything: the frontend cannot tell a header
// that the Ingress controller wrote from one a client sent itself (through the NodePort anyone
// can), so it shows the headers as told, labelled as such, and trusts them with nothing.
type clientView struct {
	// IP is the client's address as the frontend was told it: the last address in
	// X-Forwarded-For, which the nearest proxy appended (the earlier ones came with the
	// request, so anyone may have written them), or the peer's without that header.
	IP string `json:"ip"`
	// IPFrom says where IP comes from: "x-forwarded-for" or "peer".
	IPFrom string `json:"ip_from"`
	// Peer is the address of the TCP connection: the proxy, or the node when a NodePort
	// rewrote the source. The only value here that no header can change.
	Peer string `json:"peer"`
	// ForwardedFor lists X-Forwarded-For's addresses in order: the client first, then each
	// proxy's view of the previous hop.
	ForwardedFor []string `json:"forwarded_for,omitempty"`
	// ForwardedProto is the scheme the client used, as the proxy tells it ("https" behind an
	// Ingress that terminates TLS).
	ForwardedProto string `json:"forwarded_proto,omitempty"`
	// ForwardedHost is the host the client asked for, as the proxy tells it.
	ForwardedHost string `json:"forwarded_host,omitempty"`
}

// forwarded reports whether a proxy said anything about the client.
func (c clientView) forwarded() bool {
	return len(c.ForwardedFor) > 0 || c.ForwardedProto != "" || c.ForwardedHost != ""
}

// clientFrom reads the caller's forwarded headers. A header that is present but malformed is
// an error (a 400 with the reason): the page shows these values, so it shows only values that
// mean what their label says. Several X-Forwarded-For lines are one list, as RFC 9110 joins
// repeated fields; a port after an address (some proxies add one) is dropped.
func clientFrom(r *http.Request) (clientView, error) {
	c := clientView{Peer: r.RemoteAddr, IPFrom: ipFromPeer}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.IP = host
	}
	if lines := r.Header.Values("X-Forwarded-For"); len(lines) > 0 {
		for part := range strings.SplitSeq(strings.Join(lines, ","), ",") {
			ip, ok := parseForwardedIP(strings.TrimSpace(part))
			if !ok {
				return clientView{}, errForwardedFor
			}
			if len(c.ForwardedFor) == maxForwardedFor {
				return clientView{}, errForwardedLong
			}
			c.ForwardedFor = append(c.ForwardedFor, ip.String())
		}
		c.IP, c.IPFrom = c.ForwardedFor[len(c.ForwardedFor)-1], ipFromForwardedFor
	}
	if lines := r.Header.Values("X-Forwarded-Proto"); len(lines) > 0 {
		proto := strings.ToLower(strings.TrimSpace(lines[0]))
		if len(lines) > 1 || (proto != "http" && proto != "https") {
			return clientView{}, errForwardedProto
		}
		c.ForwardedProto = proto
	}
	if lines := r.Header.Values("X-Forwarded-Host"); len(lines) > 0 {
		host := strings.TrimSpace(lines[0])
		if len(lines) > 1 || !validHost(host) {
			return clientView{}, errForwardedHost
		}
		c.ForwardedHost = host
	}
	return c, nil
}

// parseForwardedIP reads one X-Forwarded-For entry: an IPv4 or IPv6 address, or either with a
// port ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseForwardedIP(s string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone(""), true
	}
	return netip.Addr{}, false
}

// validHost accepts what a Host header may hold (RFC 9110: a name or address, an optional
// port) and nothing that would change meaning on the page or in a URL: no user info, path,
// query or spaces.
func validHost(host string) bool {
	if host == "" || len(host) > 255 || strings.ContainsAny(host, " \t/?#@\\%") {
		return false
	}
	u, err := url.Parse("//" + host)
	return err == nil && u.Host == host && u.Hostname() != ""
}
