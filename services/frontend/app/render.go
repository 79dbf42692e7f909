package app

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

// format is how an answer is shown: curl gets text, programs JSON, browsers HTML.
type format int

const (
	formatText format = iota
	formatJSON
	formatHTML
)

// negotiate picks the format from the Accept header: the first media type it names that the
// frontend can produce wins. Quality values are ignored on purpose: browsers list text/html
// first, curl sends */*, and programs ask for application/json alone.
func negotiate(accept string) format {
	// What programs and curl send, without the parsing below (which makes a map per call).
	switch accept {
	case "application/json":
		return formatJSON
	case "", "*/*", "text/plain":
		return formatText
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/json":
			return formatJSON
		case "text/html":
			return formatHTML
		case "text/plain":
			return formatText
		}
	}
	return formatText
}

// writeCall shows a successful call in the negotiated format.
func writeCall(w http.ResponseWriter, r *http.Request, v callView) {
	switch negotiate(r.Header.Get("Accept")) {
	case formatJSON:
		httpserver.WriteJSON(w, http.StatusOK, v)
	case formatHTML:
		writeHTML(w, http.StatusOK, pageData{Call: &v})
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		writeCallText(w, v)
	}
}

// writeFailure shows a failed call in the negotiated format.
func writeFailure(w http.ResponseWriter, r *http.Request, f failureView) {
	switch negotiate(r.Header.Get("Accept")) {
	case formatJSON:
		httpserver.WriteJSON(w, f.Status, f)
	case formatHTML:
		writeHTML(w, f.Status, pageData{Failure: &f})
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(f.Status)
		writeFailureText(w, f)
	}
}

// writeCallText is the curl view: one "key: value" per line, easy to read and to grep.
func writeCallText(w io.Writer, v callView) {
	fmt.Fprintf(w, "frontend -> backend: ok\n")
	fmt.Fprintf(w, "pod: %s\n", v.Backend.Pod)
	fmt.Fprintf(w, "pod ip: %s\n", v.Backend.PodIP)
	fmt.Fprintf(w, "namespace: %s\n", v.Backend.Namespace)
	fmt.Fprintf(w, "node: %s\n", v.Backend.Node)
	fmt.Fprintf(w, "version: %s\n", v.Backend.Version)
	fmt.Fprintf(w, "found via: %s (%s)\n", v.Discovery.Source, v.Discovery.Name)
	fmt.Fprintf(w, "address: %s\n", v.Discovery.Addr)
	fmt.Fprintf(w, "scheme: %s\n", v.Discovery.Scheme)
	fmt.Fprintf(w, "attempts: %d\n", v.Attempts)
	fmt.Fprintf(w, "latency: %s\n", latency(v.LatencyMS))
	fmt.Fprintf(w, "trace id: %s\n", v.TraceID)
	if c := v.Client; c != nil {
		writeClientText(w, *c)
	}
}

// writeClientText shows the caller as told, after the call's lines so that those keep their
// place; every forwarded value is labelled as what a header said.
func writeClientText(w io.Writer, c clientView) {
	if c.IPFrom == ipFromForwardedFor {
		fmt.Fprintf(w, "client ip: %s (as told by X-Forwarded-For, not verified)\n", c.IP)
	} else {
		fmt.Fprintf(w, "client ip: %s (the connection's peer)\n", c.IP)
	}
	if c.forwarded() {
		fmt.Fprintf(w, "forwarded for: %s\n", orNone(strings.Join(c.ForwardedFor, ", ")))
		fmt.Fprintf(w, "forwarded proto: %s\n", orNone(c.ForwardedProto))
		fmt.Fprintf(w, "forwarded host: %s\n", orNone(c.ForwardedHost))
	}
	fmt.Fprintf(w, "peer: %s\n", c.Peer)
}

// writeFailureText is the curl view of a failure.
func writeFailureText(w io.Writer, f failureView) {
	fmt.Fprintf(w, "frontend -> backend: failed (%d %s)\n", f.Status, http.StatusText(f.Status))
	fmt.Fprintf(w, "reason: %s\n", f.Error)
	fmt.Fprintf(w, "found via: %s\n", orNone(f.Tried.Source))
	fmt.Fprintf(w, "tried: %s\n", orNone(strings.Join(f.Tried.Addrs, ", ")))
	fmt.Fprintf(w, "attempts: %d\n", f.Tried.Attempts)
	fmt.Fprintf(w, "latency: %s\n", latency(f.LatencyMS))
	fmt.Fprintf(w, "trace id: %s\n", f.TraceID)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func latency(ms float64) string {
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Microsecond).String()
}

// pageData feeds the HTML page; exactly one of Call and Failure is set.
type pageData struct {
	Call    *callView
	Failure *failureView
}

// page is parsed once; html/template escapes every value, pod names included. It has no
// inline style or script: its stylesheets are /style.css and /live.css and its script
// /live.js (the live view of the calls), so httpserver's Content-Security-Policy holds for
// it with only script-src and connect-src 'self' added (pageCSP).
var page = template.Must(template.New("page").Funcs(template.FuncMap{"latency": latency}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>svc2svc frontend</title>
<link rel="stylesheet" href="/style.css">
<link rel="stylesheet" href="/live.css">
<script src="/live.js" defer></script>
</head><body>
{{with .Call}}<h1>frontend &rarr; backend: ok</h1>
<table>
<tr><th>pod</th><td>{{.Backend.Pod}}</td></tr>
<tr><th>pod ip</th><td>{{.Backend.PodIP}}</td></tr>
<tr><th>namespace</th><td>{{.Backend.Namespace}}</td></tr>
<tr><th>node</th><td>{{.Backend.Node}}</td></tr>
<tr><th>version</th><td>{{.Backend.Version}}</td></tr>
<tr><th>found via</th><td>{{.Discovery.Source}} ({{.Discovery.Name}})</td></tr>
<tr><th>address</th><td>{{.Discovery.Addr}}</td></tr>
<tr><th>scheme</th><td>{{.Discovery.Scheme}}</td></tr>
<tr><th>attempts</th><td>{{.Attempts}}</td></tr>
<tr><th>latency</th><td>{{latency .LatencyMS}}</td></tr>
<tr><th>trace id</th><td><code>{{.TraceID}}</code></td></tr>
</table>
{{with .Client}}<h2>you, as told</h2>
<table>
<tr><th>client ip</th><td>{{.IP}} {{if eq .IPFrom "x-forwarded-for"}}(as told by X-Forwarded-For, not verified){{else}}(the connection's peer){{end}}</td></tr>
{{if .ForwardedFor}}<tr><th>forwarded for</th><td>{{range $i, $a := .ForwardedFor}}{{if $i}}, {{end}}{{$a}}{{end}}</td></tr>
{{end}}{{with .ForwardedProto}}<tr><th>forwarded proto</th><td>{{.}}</td></tr>
{{end}}{{with .ForwardedHost}}<tr><th>forwarded host</th><td>{{.}}</td></tr>
{{end}}<tr><th>peer</th><td>{{.Peer}}</td></tr>
</table>{{end}}
{{end}}
{{with .Failure}}<h1 class="bad">frontend &rarr; backend: failed ({{.Status}})</h1>
<table>
<tr><th>reason</th><td>{{.Error}}</td></tr>
<tr><th>found via</th><td>{{.Tried.Source}}</td></tr>
<tr><th>tried</th><td>{{range .Tried.Addrs}}{{.}} {{end}}</td></tr>
<tr><th>attempts</th><td>{{.Tried.Attempts}}</td></tr>
<tr><th>trace id</th><td><code>{{.TraceID}}</code></td></tr>
</table>{{end}}
<section id="live">
<h2>Calls to the backend pods, as they happen <button id="live-pause" type="button">pause</button></h2>
<p id="live-found"></p>
<p id="live-hint"></p>
<div class="views">
<div class="view" data-mode="fresh"><h3>fresh connection per call</h3><div class="lanes"></div></div>
<div class="view" data-mode="keepalive"><h3>keep-alive pool</h3><div class="lanes"></div></div>
</div>
<p class="legend"><span class="tick ok"></span>answered <span class="tick retry"></span>answered after a retry <span class="tick bad"></span>failed</p>
<p id="live-status">waiting for the first calls</p>
</section>
</body></html>
`))

func writeHTML(w http.ResponseWriter, status int, data pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.WriteHeader(status)
	// The page is fixed and its data plain values, so execution cannot fail half-way in
	// practice; if the client hung up, there is nobody to tell.
	_ = page.Execute(w, data)
}

// styleCSS is the page's stylesheet, served from the binary.
//
//go:embed static/style.css
var styleCSS []byte

// handleStyle is GET /style.css. A browser may keep it for an hour: it changes only with the
// binary.
func handleStyle() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(styleCSS)
	})
}
