package otlptest

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// treeAttrs are the attributes Tree shows, in this order and under these short names, when
// a span has them: what a person follows a request across services by. The route and the
// method are in the span name already.
var treeAttrs = []struct{ key, short string }{
	{"http.response.status_code", "status"},
	{"httpclient.attempt", "attempt"},
	{"httpclient.attempts", "attempts"},
	{"discovery.source", "source"},
	{"network.peer.address", "peer"},
	{"backend.pod", "backend.pod"},
	{"error.type", "error"},
}

// Tree draws the spans of one trace as a tree, one span a line, children under their
// parent in start order: service (pod), kind, name, duration and the attributes that matter
// for following a request, as for a call whose first attempt was refused:
//
//	frontend (frontend-1) server GET / 6ms status=200 attempts=2 backend.pod=backend-2
//	├─ frontend (frontend-1) client GET / 1ms attempt=1 error=*net.OpError ERROR
//	└─ frontend (frontend-1) client GET / 2ms status=200 attempt=2 source=dns peer=10.0.0.2:8080
//	   └─ backend (backend-2) server GET / 1ms status=200
//
// A span whose parent is not among spans (the caller's, or one not received yet) is drawn
// as a root.
func Tree(spans []Span) string {
	spans = slices.Clone(spans)
	slices.SortStableFunc(spans, func(a, b Span) int { return a.Start.Compare(b.Start) })
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	children := map[string][]Span{}
	var roots []Span
	for _, s := range spans {
		if s.ParentSpanID == "" || !ids[s.ParentSpanID] {
			roots = append(roots, s)
			continue
		}
		children[s.ParentSpanID] = append(children[s.ParentSpanID], s)
	}
	var b strings.Builder
	var draw func(s Span, prefix, branch string)
	draw = func(s Span, prefix, branch string) {
		b.WriteString(prefix + branch + line(s) + "\n")
		switch branch {
		case "├─ ":
			prefix += "│  "
		case "└─ ":
			prefix += "   "
		}
		kids := children[s.SpanID]
		for i, k := range kids {
			next := "├─ "
			if i == len(kids)-1 {
				next = "└─ "
			}
			draw(k, prefix, next)
		}
	}
	for _, r := range roots {
		draw(r, "", "")
	}
	return b.String()
}

// line describes one span.
func line(s Span) string {
	var b strings.Builder
	b.WriteString(s.Service)
	if pod := s.Resource["k8s.pod.name"]; pod != "" {
		b.WriteString(" (" + pod + ")")
	}
	fmt.Fprintf(&b, " %s %s %s", s.Kind, s.Name, s.Duration().Round(time.Microsecond))
	for _, a := range treeAttrs {
		v, ok := s.Attrs[a.key]
		if !ok {
			continue
		}
		if a.key == "network.peer.address" {
			if s.Kind != "client" {
				continue // a server's peer is its caller's ephemeral port: noise here
			}
			if port, ok := s.Attrs["network.peer.port"]; ok {
				v = net.JoinHostPort(v, port)
			}
		}
		b.WriteString(" " + a.short + "=" + v)
	}
	if s.Status == "error" {
		b.WriteString(" ERROR")
	}
	return b.String()
}
