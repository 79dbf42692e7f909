package endpointslices

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzStream feeds a watch stream to a Watcher, as if the API server had sent it, and checks
// that whatever it publishes can be dialed: sorted, unique "ip:port" addresses of ready
// endpoints, and the same slice again when nothing changes.
func FuzzStream(f *testing.F) {
	for _, seed := range []struct {
		stream, portName string
	}{
		{`{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"2"},"addressType":"IPv4","ports":[{"name":"http","port":8080,"protocol":"TCP"}],"endpoints":[{"addresses":["10.0.0.1"],"conditions":{"ready":true}},{"addresses":["10.0.0.2"],"conditions":{"ready":false}}]}}`, "http"},
		{`{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}}`, ""},
		{`{"type":"ADDED","object":{"metadata":{"name":"v6"},"addressType":"IPv6","ports":[{"port":80}],"endpoints":[{"addresses":["fd00::1"]}]}}` + "\n" +
			`{"type":"DELETED","object":{"metadata":{"name":"v6"}}}`, ""},
		{`{"type":"MODIFIED","object":{"metadata":{"name":"f"},"addressType":"FQDN","ports":[{"port":80}],"endpoints":[{"addresses":["a.example"]}]}}`, ""},
		{`{"type":"ADDED","object":{"ports":[{"port":99999}]}}{"type":"NOPE"}`, "x"},
	} {
		f.Add([]byte(seed.stream), seed.portName)
	}
	f.Fuzz(func(t *testing.T, stream []byte, portName string) {
		w := New(Config{Service: "s", Namespace: "n", PortName: portName}, API{}, nil)
		_, _, _ = w.stream(bytes.NewReader(stream), "1") // any error is fine; a panic is not
		ep := w.state.Load()
		if ep == nil {
			if len(w.bySlice) != 0 {
				t.Fatalf("nothing published, but slices %v", w.bySlice)
			}
			return
		}
		if ep.Source != SourceEndpointSlices || ep.Name != "s.n" {
			t.Errorf("Endpoint = %+v, want Source %q and Name s.n", ep, SourceEndpointSlices)
		}
		if !slices.IsSorted(ep.Addrs) || len(slices.Compact(slices.Clone(ep.Addrs))) != len(ep.Addrs) {
			t.Errorf("Addrs = %q, want sorted and unique", ep.Addrs)
		}
		for _, a := range ep.Addrs {
			host, p, err := net.SplitHostPort(a)
			if err != nil {
				t.Fatalf("address %q: %v", a, err)
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || ip.Zone() != "" || ip.IsUnspecified() {
				t.Errorf("address %q: host is not a dialable IP", a)
			}
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || strings.HasPrefix(p, "0") {
				t.Errorf("address %q: port out of range", a)
			}
		}
		before := ep
		w.publish()
		if w.state.Load() != before {
			t.Errorf("publish with no change replaced the Endpoint")
		}
	})
}
