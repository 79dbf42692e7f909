package dnstest

import (
	"net/netip"

	"github.com/miekg/dns"
)

const (
	// ttl is the TTL of every answer, in seconds: short, as Kubernetes' CoreDNS uses, so a
	// client that caches for the TTL still notices changes quickly.
	ttl = 5
	// ednsSize is the UDP payload size the server advertises, the value DNS flag day 2020
	// settled on to avoid IP fragmentation.
	ednsSize = 1232
)

// serve answers one query. It never recurses: names it was not told about are NXDOMAIN.
func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	mode := Mode(s.mode.Load())
	m := new(dns.Msg)
	switch {
	case mode == ModeNoAnswer:
		return // the client sees a server that never answers and times out
	case mode == ModeServFail:
		m.SetRcode(req, dns.RcodeServerFailure)
	case req.Opcode != dns.OpcodeQuery:
		m.SetRcode(req, dns.RcodeNotImplemented)
	case len(req.Question) != 1:
		m.SetRcode(req, dns.RcodeFormatError)
	default:
		s.answer(m, req)
	}
	// Go's resolver rejects an empty NOERROR answer without AA (or RA) as a lame referral.
	m.Authoritative = m.Rcode == dns.RcodeSuccess || m.Rcode == dns.RcodeNameError
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		// RFC 6891: an EDNS query gets an OPT record back.
		m.SetEdns0(ednsSize, false)
		size = int(opt.UDPSize())
	}
	if w.LocalAddr().Network() == "udp" {
		// An answer too big for the client's buffer is cut with TC set, so it retries on TCP.
		m.Truncate(size)
	}
	_ = w.WriteMsg(m) // a client that went away is not the server's problem
}

// answer fills m with the records for the single question of req.
func (s *Server) answer(m *dns.Msg, req *dns.Msg) {
	m.SetReply(req)
	q := req.Question[0]
	name := dns.CanonicalName(q.Name)

	s.mu.RLock()
	defer s.mu.RUnlock()
	addrs, hasA := s.a[name]
	targets, hasSRV := s.srv[name]
	if !hasA && !hasSRV {
		m.Rcode = dns.RcodeNameError
		return
	}
	switch q.Qtype {
	case dns.TypeA, dns.TypeAAAA:
		// The question's own spelling is echoed so clients that compare names exactly match.
		m.Answer = addressRecords(q.Name, q.Qtype, addrs)
	case dns.TypeSRV:
		seen := make(map[string]bool)
		for _, t := range targets {
			m.Answer = append(m.Answer, &dns.SRV{
				Hdr:    header(q.Name, dns.TypeSRV),
				Port:   t.Port,
				Target: t.Target,
			})
			if seen[t.Target] {
				continue
			}
			seen[t.Target] = true
			// Real servers (CoreDNS for headless Services) add the targets' addresses so a
			// client needs no second round trip; do the same to look like them.
			m.Extra = append(m.Extra, addressRecords(t.Target, dns.TypeA, s.a[t.Target])...)
			m.Extra = append(m.Extra, addressRecords(t.Target, dns.TypeAAAA, s.a[t.Target])...)
		}
	}
}

// addressRecords returns the A (IPv4) or AAAA (IPv6) records of name among addrs.
func addressRecords(name string, qtype uint16, addrs []netip.Addr) []dns.RR {
	var rrs []dns.RR
	for _, a := range addrs {
		switch {
		case qtype == dns.TypeA && a.Is4():
			rrs = append(rrs, &dns.A{Hdr: header(name, dns.TypeA), A: a.AsSlice()})
		case qtype == dns.TypeAAAA && a.Is6():
			rrs = append(rrs, &dns.AAAA{Hdr: header(name, dns.TypeAAAA), AAAA: a.AsSlice()})
		}
	}
	return rrs
}

func header(name string, rrtype uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl}
}
