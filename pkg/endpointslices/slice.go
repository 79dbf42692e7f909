package endpointslices

import (
	"net"
	"net/netip"
	"strconv"
)

// The parts of the discovery.k8s.io/v1 API this package reads. Pointers keep "absent" apart
// from the zero value where the API gives absence a meaning.

type objectMeta struct {
	Name            string `json:"name"`
	ResourceVersion string `json:"resourceVersion"`
}

type endpointSlice struct {
	Metadata    objectMeta `json:"metadata"`
	AddressType string     `json:"addressType"`
	Endpoints   []endpoint `json:"endpoints"`
	Ports       []port     `json:"ports"`
}

type endpoint struct {
	Addresses  []string `json:"addresses"`
	Conditions struct {
		Ready       *bool `json:"ready"` // nil means ready
		Terminating *bool `json:"terminating"`
	} `json:"conditions"`
}

type port struct {
	Name     *string `json:"name"`
	Protocol *string `json:"protocol"` // nil means TCP
	Port     *int32  `json:"port"`     // nil means every port, which says nothing to dial
}

type sliceList struct {
	Metadata objectMeta      `json:"metadata"`
	Items    []endpointSlice `json:"items"`
}

// status is the body of an API error, and the object of an ERROR watch event.
type status struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// addrs returns the "host:port" addresses of s that may get traffic: endpoints that are
// ready (or do not say) and not terminating, on the port cfg names. FQDN slices give none,
// since their names would need DNS again, and so does a slice without that port.
//
// Only an endpoint's first address is used: the API defines no meaning for the others, and
// kube-proxy ignores them too. Addresses that are not an IP of the slice's family are
// skipped, since they come from outside and would only fail to dial.
func (cfg Config) addrs(s *endpointSlice) []string {
	var is func(netip.Addr) bool
	switch s.AddressType {
	case "IPv4":
		is = netip.Addr.Is4
	case "IPv6":
		is = func(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }
	default:
		return nil
	}
	p, ok := cfg.port(s.Ports)
	if !ok {
		return nil
	}
	var out []string
	for _, e := range s.Endpoints {
		c := e.Conditions
		if len(e.Addresses) == 0 || (c.Ready != nil && !*c.Ready) || (c.Terminating != nil && *c.Terminating) {
			continue
		}
		ip, err := netip.ParseAddr(e.Addresses[0])
		if err != nil || !is(ip) || ip.Zone() != "" || ip.IsUnspecified() {
			continue
		}
		out = append(out, net.JoinHostPort(ip.String(), p))
	}
	return out
}

// port returns the port to dial among a slice's ports: the one named cfg.PortName, or with
// no PortName the only one. Only TCP ports qualify, since the client speaks HTTP.
func (cfg Config) port(ports []port) (string, bool) {
	var found *port
	for i, p := range ports {
		if name := p.Name; (name == nil && cfg.PortName == "") || (name != nil && *name == cfg.PortName) {
			found = &ports[i]
			break
		}
	}
	if found == nil && cfg.PortName == "" && len(ports) == 1 {
		found = &ports[0]
	}
	if found == nil || found.Port == nil || *found.Port < 1 || *found.Port > 65535 ||
		(found.Protocol != nil && *found.Protocol != "TCP") {
		return "", false
	}
	return strconv.Itoa(int(*found.Port)), true
}
