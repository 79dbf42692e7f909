package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tsenart/vegeta/v12/lib/plot"
)

// maxPrinted bounds the non-2xx answers printed one by one; the JSON has them all (up to
// maxListed).
const maxPrinted = 20

// writeSummary prints the report for a person.
func writeSummary(w io.Writer, r *Report) {
	rate := fmt.Sprintf("%d/s", r.Rate)
	if r.Rate == 0 {
		rate = "max rate"
	}
	fmt.Fprintf(w, "target      %s\n", r.Target)
	fmt.Fprintf(w, "attack      %s for %s: %d requests\n", rate, r.Duration, r.Requests)
	fmt.Fprintf(w, "success     %d/%d 2xx = %.2f%%\n", r.Succeeded, r.Requests, 100*r.Success)
	fmt.Fprintf(w, "latency     p50 %s  p90 %s  p99 %s  max %s\n",
		fmtMS(r.Latency.P50), fmtMS(r.Latency.P90), fmtMS(r.Latency.P99), fmtMS(r.Latency.Max))
	fmt.Fprintf(w, "throughput  %.1f/s (2xx)\n", r.Throughput)
	if r.ByPod != nil {
		fmt.Fprintf(w, "by pod      %s\n", counts(r.ByPod))
	}
	fmt.Fprintf(w, "statuses    %s\n", counts(r.StatusCodes))
	if r.NonOKCount == 0 {
		fmt.Fprintf(w, "non-2xx     none\n")
	} else {
		fmt.Fprintf(w, "non-2xx     %d:\n", r.NonOKCount)
		for _, f := range r.NonOK[:min(len(r.NonOK), maxPrinted)] {
			fmt.Fprintf(w, "  at %8.3fs  status %d  %s\n", f.AtMS/1000, f.Status, oneLine(cmp.Or(f.Error, f.Body)))
		}
		if r.NonOKCount > maxPrinted {
			fmt.Fprintf(w, "  ... %d more (all in -json, up to %d)\n", r.NonOKCount-maxPrinted, maxListed)
		}
	}
	for _, m := range r.Marks {
		status := ""
		if m.Command != "" {
			status = fmt.Sprintf(" (ran %s", fmtMS(m.DurationMS))
			if m.Error != "" {
				status += ", failed: " + m.Error
			}
			status += ")"
		}
		fmt.Fprintf(w, "event       at %.3fs  %s%s\n", m.AtMS/1000, m.Label, status)
	}
	verdict := "PASS"
	if !r.Passed {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "result      %s: %d failed, -max-errors %d\n", verdict, r.Failed(), r.MaxErrors)
}

// counts prints a map as "key n" pairs, largest first.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b))
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, "  ")
}

func fmtMS(v float64) string {
	return time.Duration(v * float64(time.Millisecond)).Round(time.Microsecond).String()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (r *Report) writeJSON(w io.Writer) error { return writeJSON(w, r) }

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writePlot writes a self-contained HTML page: latency percentiles and the rate of requests
// and non-2xx answers over time, with every mark drawn as a vertical line on both charts. It
// draws with the uPlot library that vegeta's lib/plot embeds rather than with lib/plot's own
// page, because that page gives no way to draw on its chart.
func (r *Report) writePlot(w io.Writer) error {
	js, err := asset("uPlot.min.js")
	if err != nil {
		return err
	}
	css, err := asset("uPlot.min.css")
	if err != nil {
		return err
	}
	shown := r.NonOK[:min(len(r.NonOK), 100)]
	return plotPage.Execute(w, map[string]any{
		"Report": r,
		"Shown":  shown,
		"JS":     template.JS(js),
		"CSS":    template.CSS(css),
		"Rate":   map[bool]string{true: "max rate", false: fmt.Sprintf("%d/s", r.Rate)}[r.Rate == 0],
	})
}

func asset(name string) (string, error) {
	f, err := plot.Assets.Open(name)
	if err != nil {
		return "", fmt.Errorf("vegeta plot asset %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

var plotPage = template.Must(template.New("plot").Funcs(template.FuncMap{
	"ms":   fmtMS,
	"pct":  func(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) },
	"divf": func(v float64) float64 { return v / 1000 },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Report.Title}}</title>
<style>{{.CSS}}
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse}td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
.bad{color:#b00}pre{margin:0;white-space:pre-wrap;max-width:60rem}</style></head>
<body>
<h1>{{.Report.Title}}</h1>
<table>
<tr><th>target</th><td>{{.Report.URL}}</td></tr>
<tr><th>attack</th><td>{{.Rate}} for {{.Report.Duration}} from {{.Report.Started.Format "2006-01-02 15:04:05 MST"}}: {{.Report.Requests}} requests</td></tr>
<tr><th>success</th><td>{{.Report.Succeeded}}/{{.Report.Requests}} 2xx = {{pct .Report.Success}}</td></tr>
<tr><th>latency</th><td>p50 {{ms .Report.Latency.P50}}, p90 {{ms .Report.Latency.P90}}, p99 {{ms .Report.Latency.P99}}, max {{ms .Report.Latency.Max}}</td></tr>
<tr><th>by pod</th><td>{{range $pod, $n := .Report.ByPod}}{{$pod}}: {{$n}} &nbsp; {{end}}</td></tr>
</table>
<h2>Latency</h2><div id="latency"></div>
<h2>Requests and non-2xx answers per second</h2><div id="errors"></div>
<h2>Events</h2>
{{if .Report.Marks}}<table><tr><th>at</th><th>event</th><th>result</th></tr>
{{range .Report.Marks}}<tr><td>{{printf "%.3fs" (divf .AtMS)}}</td><td>{{.Label}}</td><td>{{if .Command}}{{if .Error}}<span class="bad">{{.Error}}</span>{{else}}ok{{end}} after {{ms .DurationMS}}{{if .Output}}<pre>{{.Output}}</pre>{{end}}{{end}}</td></tr>
{{end}}</table>{{else}}<p>none</p>{{end}}
<h2>Non-2xx answers ({{.Report.NonOKCount}})</h2>
{{if .Shown}}<table><tr><th>at</th><th>status</th><th>error</th></tr>
{{range .Shown}}<tr><td>{{printf "%.3fs" (divf .AtMS)}}</td><td>{{.Status}}</td><td>{{.Error}} {{.Body}}</td></tr>
{{end}}</table>{{if gt .Report.NonOKCount (len .Shown)}}<p>... the JSON report lists more.</p>{{end}}{{else}}<p>none</p>{{end}}
<script>{{.JS}}</script>
<script>
const marks = {{.Report.Marks}};
const tl = {{.Report.Timeline}};
const perSecond = 1000 / tl.bucket_ms;
const empty = tl.requests.map(n => n === 0);
const gap = (xs) => xs.map((v, i) => empty[i] ? null : v);
function markLines() {
  return {hooks: {draw: [u => {
    const ctx = u.ctx, dpr = devicePixelRatio || 1;
    ctx.save();
    ctx.strokeStyle = "#c00"; ctx.fillStyle = "#c00"; ctx.lineWidth = dpr;
    ctx.setLineDash([5 * dpr, 4 * dpr]); ctx.font = (11 * dpr) + "px system-ui, sans-serif";
    // uPlot leaves the axes' alignment on the context; labels start at their line, or end
    // there when they would run past the plot's right edge.
    ctx.textBaseline = "alphabetic";
    marks.forEach((m, i) => {
      const x = u.valToPos(m.at_ms / 1000, "x", true);
      ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
      const fits = x + 4 * dpr + ctx.measureText(m.label).width <= u.bbox.left + u.bbox.width;
      ctx.textAlign = fits ? "left" : "right";
      ctx.fillText(m.label, fits ? x + 4 * dpr : x - 4 * dpr, u.bbox.top + (12 + 12 * (i % 4)) * dpr);
    });
    ctx.restore();
  }]}};
}
const width = Math.max(600, document.body.clientWidth - 40);
const x = {label: "seconds"};
new uPlot({width: width, height: 360, plugins: [markLines()], scales: {x: {time: false}},
  axes: [{label: "seconds into the run"}, {label: "latency (ms)"}],
  series: [x, {label: "p50 ms", stroke: "#297373", spanGaps: false}, {label: "p99 ms", stroke: "#d08000"}, {label: "max ms", stroke: "#999"}]},
  [tl.t, gap(tl.p50_ms), gap(tl.p99_ms), gap(tl.max_ms)], document.getElementById("latency"));
new uPlot({width: width, height: 260, plugins: [markLines()], scales: {x: {time: false}},
  axes: [{label: "seconds into the run"}, {label: "per second"}],
  series: [x, {label: "requests/s", stroke: "#297373"}, {label: "non-2xx/s", stroke: "#c00", fill: "rgba(204,0,0,0.15)"}]},
  [tl.t, tl.requests.map(n => n * perSecond), tl.errors.map(n => n * perSecond)], document.getElementById("errors"));
</script>
</body></html>
`))
