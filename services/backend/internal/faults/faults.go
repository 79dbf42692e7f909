// Package faults makes one backend pod misbehave on demand, so that a learner can watch what
// the frontend's retries, outlier ejection and readiness do about it: a delay or an error
// status on GET /, a request that hangs, and a readiness probe that fails or flaps.
//
// The knobs are off unless FAULTS=on, and then served on the admin port only (PUT, GET and
// DELETE /faults), which no Service exposes: a fault is set per pod, by whoever can reach the
// pod itself (kubectl port-forward, or the local run). Each change is logged at info and the
// faults in force are the metric backend_fault_active{kind}.
package faults

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/httpserver"
)

// The values of FAULTS.
const (
	Off = "off"
	On  = "on"
)

// Config says whether the knobs exist at all. The zero value is off.
type Config struct {
	// Mode is "on" to serve /faults on the admin port and let it change GET / and /readyz,
	// "off" (or empty) for a backend that cannot be made to misbehave.
	Mode string `env:"FAULTS" envDefault:"off"`
}

// Enabled reports whether FAULTS is on.
func (c *Config) Enabled() bool { return c.Mode == On }

// Validate refuses a FAULTS that is neither on nor off, for config.Parse.
func (c *Config) Validate(r *config.Rules) {
	switch c.Mode {
	case "", Off, On:
	default:
		r.Fail(&c.Mode, "want %s or %s, got %q", On, Off, c.Mode)
	}
}

// The kinds of fault, as the metrics label them.
const (
	kindDelay         = "delay"
	kindError         = "error"
	kindHang          = "hang"
	kindReadinessFail = "readiness_fail"
	kindReadinessFlap = "readiness_flap"
)

// Deps are the Injector's collaborators.
type Deps struct {
	// Logger gets a line per change of the faults and per flip of a flapping readiness.
	Logger *slog.Logger
	// Metrics registers backend_fault_active and backend_fault_injected_total; nil registers
	// nothing.
	Metrics prometheus.Registerer
	// Now is the clock of the flapping readiness; nil is time.Now.
	Now func() time.Time
}

// Injector holds one pod's faults and applies them. Its methods may be called concurrently.
type Injector struct {
	logger    *slog.Logger
	now       func() time.Time
	stopping  <-chan struct{}
	writeTime time.Duration
	current   atomic.Pointer[active] // nil: no fault
	lastReady atomic.Bool            // what Ready said last, to log a flip once
	active    *prometheus.GaugeVec
	injected  *prometheus.CounterVec
}

// active is a Spec in force: set by one PUT, replaced whole by the next.
type active struct {
	spec  Spec
	since time.Time
	calls atomic.Uint64 // GET / requests seen, to pick which a percent hits
}

// defaultWriteTimeout stands in for a writeTimeout of 0: httpserver's default.
const defaultWriteTimeout = 15 * time.Second

// New returns an Injector with no fault set. Delays and hangs end when ctx is done, as it is
// when shutdown starts, so that a faulty pod still stops within SHUTDOWN_TIMEOUT.
// writeTimeout is the server's WRITE_TIMEOUT: a delay must be shorter (a longer one is a
// hang), and a hang ends there, since no answer could be written after it anyway; 0 is 15s.
func New(ctx context.Context, writeTimeout time.Duration, deps Deps) *Injector {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if writeTimeout <= 0 {
		writeTimeout = defaultWriteTimeout
	}
	in := &Injector{
		logger: deps.Logger, now: deps.Now, stopping: ctx.Done(), writeTime: writeTimeout,
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "backend_fault_active",
			Help: "1 while a fault of this kind is set on this pod (PUT /faults on the admin port), else 0.",
		}, []string{"kind"}),
		injected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backend_fault_injected_total",
			Help: "GET / requests that a fault of this kind delayed, failed or hung.",
		}, []string{"kind"}),
	}
	in.lastReady.Store(true)
	for _, k := range []string{kindDelay, kindError, kindHang, kindReadinessFail, kindReadinessFlap} {
		in.active.WithLabelValues(k).Set(0)
	}
	for _, k := range []string{kindDelay, kindError, kindHang} {
		in.injected.WithLabelValues(k)
	}
	if deps.Metrics != nil {
		deps.Metrics.MustRegister(in.active, in.injected)
	}
	return in
}

// Wrap applies the request faults (delay, error, hang) to next, GET / in the backend. A hit
// request waits out the delay, then hangs or answers the error status, or else goes on to next.
func (in *Injector) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := in.current.Load()
		if a == nil || !a.spec.hasRequestFault() || !a.hit() {
			next.ServeHTTP(w, r)
			return
		}
		s := a.spec
		if s.Delay > 0 {
			in.injected.WithLabelValues(kindDelay).Inc()
			if !in.wait(r.Context(), time.Duration(s.Delay)) {
				gaveUp(w)
				return
			}
		}
		switch {
		case s.Hang:
			in.injected.WithLabelValues(kindHang).Inc()
			in.wait(r.Context(), in.writeTime)
			gaveUp(w)
		case s.Error != 0:
			in.injected.WithLabelValues(kindError).Inc()
			httpserver.WriteError(w, s.Error, "fault injected")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// wait sleeps for d, and reports whether it did: false when the client went away or shutdown
// started first.
func (in *Injector) wait(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
	case <-in.stopping:
	}
	return false
}

// gaveUp ends a request that a fault held until its client left, the write timeout passed
// or shutdown started: with a 503 for whoever still listens (shutdown), and for the access
// log and the request metrics, which would otherwise count it as a 200.
func gaveUp(w http.ResponseWriter) {
	httpserver.WriteError(w, http.StatusServiceUnavailable, "fault: no answer")
}

// hit reports whether this call is one the faults apply to: percent of the calls, spread
// evenly (50 hits every other call, 30 three calls in every ten), so that tests and learners
// see the same thing each time rather than a random sample.
func (a *active) hit() bool {
	p := uint64(a.spec.percent())
	n := a.calls.Add(1) - 1
	return n*p%100 < p
}

// Ready is the readiness check: false while readiness is set to fail, and during every other
// FlapEvery period (the first included) while it flaps.
func (in *Injector) Ready() bool {
	ready := true
	if a := in.current.Load(); a != nil {
		switch a.spec.Readiness {
		case ReadinessFail:
			ready = false
		case ReadinessFlap:
			ready = in.now().Sub(a.since)/time.Duration(a.spec.FlapEvery)%2 == 1
		}
	}
	if in.lastReady.Swap(ready) != ready {
		in.logger.Info("fault readiness flipped", slog.Bool("ready", ready))
	}
	return ready
}

// set puts s in force (nil clears every fault), logs the change and updates the metrics.
func (in *Injector) set(s *Spec, remote string) {
	if s == nil || s.none() {
		in.current.Store(nil)
		in.logger.Info("faults cleared", slog.String("remote", remote))
	} else {
		in.current.Store(&active{spec: *s, since: in.now()})
		in.logger.Info("faults set", slog.String("delay", s.Delay.String()), slog.Int("error", s.Error),
			slog.Int("percent", s.percent()), slog.Bool("hang", s.Hang), slog.String("readiness", s.readiness()),
			slog.String("flap_every", s.FlapEvery.String()), slog.String("remote", remote))
	}
	var spec Spec
	if s != nil {
		spec = *s
	}
	for kind, on := range map[string]bool{
		kindDelay: spec.Delay > 0, kindError: spec.Error != 0, kindHang: spec.Hang,
		kindReadinessFail: spec.Readiness == ReadinessFail, kindReadinessFlap: spec.Readiness == ReadinessFlap,
	} {
		v := 0.0
		if on {
			v = 1
		}
		in.active.WithLabelValues(kind).Set(v)
	}
}

// State is the answer of every /faults request: the faults in force and what /readyz says now.
type State struct {
	Spec
	// Ready is what /readyz answers now (shutdown aside).
	Ready bool `json:"ready"`
	// Since is when the faults were set; absent when none is.
	Since *time.Time `json:"since,omitempty"`
}

// state is the current State.
func (in *Injector) state() State {
	st := State{Spec: Spec{Percent: 100, Readiness: ReadinessOK}, Ready: in.Ready()}
	if a := in.current.Load(); a != nil {
		st.Spec = a.spec
		st.Percent = a.spec.percent()
		st.Readiness = a.spec.readiness()
		since := a.since.UTC()
		st.Since = &since
	}
	return st
}

// String is what a log line or an error says about a duration: "300ms".
func (d Duration) String() string { return time.Duration(d).String() }
