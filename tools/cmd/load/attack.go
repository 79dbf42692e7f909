package main

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// maxBodyBytes bounds what is kept of each answer: enough for the frontend's JSON.
const maxBodyBytes = 64 << 10

// maxListed bounds the non-2xx answers kept one by one; beyond it they are only counted, so
// a run against a dead target does not keep every failure in memory.
const maxListed = 10_000

// attackSpec is one constant-rate run against one URL.
type attackSpec struct {
	name        string
	url         string
	rate        int // per second; 0: as fast as maxWorkers allow
	duration    time.Duration
	timeout     time.Duration
	workers     uint64
	maxWorkers  uint64
	maxRequests uint64
	countPods   bool            // decode backend.pod from each 2xx answer
	transport   *http.Transport // the harness's own (-resolve, -cacert); nil: vegeta's default
	onStart     func(time.Time) // called as the first request is about to go
}

// Report is what one run saw. It is also the JSON the harness writes.
type Report struct {
	Title       string         `json:"title"`
	Target      string         `json:"target"`
	URL         string         `json:"url"`
	Rate        int            `json:"rate"`       // 0: as fast as possible
	Duration    string         `json:"duration"`   // as -duration was given, e.g. "30s" or "1m30s"
	DurationS   float64        `json:"duration_s"` // the same in seconds
	Started     time.Time      `json:"started"`
	Requests    int            `json:"requests"`
	Succeeded   int            `json:"succeeded"` // 2xx
	Success     float64        `json:"success_ratio"`
	Throughput  float64        `json:"throughput"` // 2xx per second
	Latency     Latency        `json:"latency_ms"`
	StatusCodes map[string]int `json:"status_codes"` // "0" is no answer at all
	ByPod       map[string]int `json:"by_pod,omitempty"`
	NonOK       []Failure      `json:"non_2xx"`
	NonOKCount  int            `json:"non_2xx_count"`
	Timeline    Timeline       `json:"timeline"`
	Marks       []Mark         `json:"events"`
	MaxErrors   int            `json:"max_errors"`
	Passed      bool           `json:"passed"`
}

// Failed counts the requests that did not get a 2xx answer.
func (r *Report) Failed() int { return r.Requests - r.Succeeded }

// Latency holds percentiles in milliseconds, computed exactly from every request.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Failure is one request that got no 2xx answer.
type Failure struct {
	AtMS   float64 `json:"at_ms"` // from the start of the attack
	Status int     `json:"status"`
	Error  string  `json:"error,omitempty"`
	Body   string  `json:"body,omitempty"`
}

// Timeline is the run cut into equal buckets, one array per measure, for plotting.
type Timeline struct {
	BucketMS float64   `json:"bucket_ms"`
	T        []float64 `json:"t"` // start of each bucket, seconds from the start of the attack
	Requests []int     `json:"requests"`
	Errors   []int     `json:"errors"`
	P50      []float64 `json:"p50_ms"`
	P99      []float64 `json:"p99_ms"`
	Max      []float64 `json:"max_ms"`
}

// boundedPacer stops the attack after max requests whatever the rate, so a run is bounded in
// count as well as in time.
type boundedPacer struct {
	vegeta.Pacer
	max uint64
}

func (p boundedPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= p.max {
		return 0, true
	}
	return p.Pacer.Pace(elapsed, hits)
}

// attack runs spec with vegeta and summarises the results. It stops early when ctx ends.
func attack(ctx context.Context, spec attackSpec) (*Report, error) {
	if _, err := url.Parse(spec.url); err != nil {
		return nil, err
	}
	var opts []func(*vegeta.Attacker)
	if spec.transport != nil {
		// First, so that the options below (timeout, keep-alive, proxy) apply to it.
		opts = append(opts, vegeta.Client(&http.Client{Transport: spec.transport}))
	}
	attacker := vegeta.NewAttacker(append(opts,
		vegeta.Timeout(spec.timeout),
		vegeta.Workers(min(spec.workers, spec.maxWorkers)),
		vegeta.MaxWorkers(spec.maxWorkers),
		vegeta.KeepAlive(true),
		vegeta.MaxBody(maxBodyBytes),
		// Answers are reported as they are: a redirect is not a success to follow.
		vegeta.Redirects(vegeta.NoFollow),
		// The targets are loopback or the cluster's node: never through HTTP_PROXY.
		vegeta.Proxy(func(*http.Request) (*url.URL, error) { return nil, nil }),
	)...)
	targeter := vegeta.NewStaticTargeter(vegeta.Target{
		Method: http.MethodGet,
		URL:    spec.url,
		Header: http.Header{"Accept": {"application/json"}},
	})
	pacer := boundedPacer{Pacer: vegeta.Rate{Freq: spec.rate, Per: time.Second}, max: spec.maxRequests}

	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			attacker.Stop()
		case <-done:
		}
	}()

	start := time.Now()
	if spec.onStart != nil {
		spec.onStart(start)
	}
	c := newCollector(spec, start)
	for res := range attacker.Attack(targeter, pacer, spec.duration, spec.name) {
		c.add(res)
	}
	return c.report(), nil
}

// collector turns results into a Report as they arrive.
type collector struct {
	spec      attackSpec
	start     time.Time
	rep       *Report
	latencies []time.Duration
	first     time.Time
	end       time.Time
	points    []point
}

// point is what the timeline needs of one result.
type point struct {
	at      time.Duration
	latency time.Duration
	ok      bool
}

func newCollector(spec attackSpec, start time.Time) *collector {
	return &collector{spec: spec, start: start, rep: &Report{
		URL:         spec.url,
		Rate:        spec.rate,
		Duration:    spec.duration.String(),
		DurationS:   spec.duration.Seconds(),
		Started:     start.UTC(),
		StatusCodes: map[string]int{},
		ByPod:       map[string]int{},
		NonOK:       []Failure{},
		Marks:       []Mark{},
	}}
}

func (c *collector) add(res *vegeta.Result) {
	rep := c.rep
	rep.Requests++
	rep.StatusCodes[strconv.Itoa(int(res.Code))]++
	c.latencies = append(c.latencies, res.Latency)
	if c.first.IsZero() || res.Timestamp.Before(c.first) {
		c.first = res.Timestamp
	}
	if end := res.End(); end.After(c.end) {
		c.end = end
	}
	at := res.Timestamp.Sub(c.start)
	ok := res.Code >= 200 && res.Code < 300
	c.points = append(c.points, point{at: at, latency: res.Latency, ok: ok})
	if ok {
		rep.Succeeded++
		if c.spec.countPods {
			var answer struct {
				Backend struct {
					Pod string `json:"pod"`
				} `json:"backend"`
			}
			pod := "(no backend.pod in the answer)"
			if json.Unmarshal(res.Body, &answer) == nil && answer.Backend.Pod != "" {
				pod = answer.Backend.Pod
			}
			rep.ByPod[pod]++
		}
		return
	}
	rep.NonOKCount++
	if len(rep.NonOK) < maxListed {
		body := string(res.Body)
		if len(body) > 300 {
			body = body[:300] + "..."
		}
		rep.NonOK = append(rep.NonOK, Failure{AtMS: ms(at), Status: int(res.Code), Error: res.Error, Body: body})
	}
}

func (c *collector) report() *Report {
	rep := c.rep
	if !c.spec.countPods {
		rep.ByPod = nil
	}
	if rep.Requests == 0 {
		return rep
	}
	rep.Success = float64(rep.Succeeded) / float64(rep.Requests)
	if span := c.end.Sub(c.first).Seconds(); span > 0 {
		rep.Throughput = float64(rep.Succeeded) / span
	}
	rep.Latency = summarize(c.latencies)
	rep.Timeline = timeline(c.points, c.spec.duration)
	return rep
}

// summarize computes exact percentiles; it sorts lat.
func summarize(lat []time.Duration) Latency {
	if len(lat) == 0 {
		return Latency{}
	}
	slices.Sort(lat)
	var total time.Duration
	for _, l := range lat {
		total += l
	}
	return Latency{
		P50:  ms(quantile(lat, 0.50)),
		P90:  ms(quantile(lat, 0.90)),
		P99:  ms(quantile(lat, 0.99)),
		Max:  ms(lat[len(lat)-1]),
		Mean: ms(total / time.Duration(len(lat))),
	}
}

// quantile is the nearest-rank quantile q of sorted.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// timeline cuts the run into about 300 buckets of at least 100ms.
func timeline(points []point, duration time.Duration) Timeline {
	bucket := max(100*time.Millisecond, duration/300)
	var last time.Duration
	for _, p := range points {
		last = max(last, p.at)
	}
	n := int(last/bucket) + 1
	lat := make([][]time.Duration, n)
	t := Timeline{BucketMS: ms(bucket), T: make([]float64, n), Requests: make([]int, n), Errors: make([]int, n),
		P50: make([]float64, n), P99: make([]float64, n), Max: make([]float64, n)}
	for _, p := range points {
		i := max(0, int(p.at/bucket))
		t.Requests[i]++
		if !p.ok {
			t.Errors[i]++
		}
		lat[i] = append(lat[i], p.latency)
	}
	for i := range n {
		t.T[i] = (time.Duration(i) * bucket).Seconds()
		if s := summarize(lat[i]); len(lat[i]) > 0 {
			t.P50[i], t.P99[i], t.Max[i] = s.P50, s.P99, s.Max
		}
	}
	return t
}

// ms is d in milliseconds, rounded to the microsecond.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}
