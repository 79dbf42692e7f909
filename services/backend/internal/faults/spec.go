package faults

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The values of Spec.Readiness.
const (
	ReadinessOK   = "ok"
	ReadinessFail = "fail"
	ReadinessFlap = "flap"
)

// Bounds of the knobs. A flap shorter than a second is faster than a kubelet can probe.
const (
	minFlap     = time.Second
	maxFlap     = 10 * time.Minute
	defaultFlap = 10 * time.Second
)

// Spec is the faults of one pod, the body of PUT /faults. Every field is optional; a PUT
// replaces all of them, so a field left out is a fault cleared.
type Spec struct {
	// Delay is added to every GET / the faults hit, before it answers; shorter than the
	// server's WRITE_TIMEOUT.
	Delay Duration `json:"delay"`
	// Error is the status (400 to 599) that GET / answers when hit, instead of the identity.
	Error int `json:"error"`
	// Percent is the share of GET / requests that Delay, Error and Hang hit, spread evenly;
	// 0 means 100.
	Percent int `json:"percent"`
	// Hang makes a hit GET / never answer, until its client gives up, the server's
	// WRITE_TIMEOUT passes or shutdown starts.
	Hang bool `json:"hang"`
	// Readiness is "ok" (or empty), "fail" (/readyz answers 503) or "flap" (503 and 200 by
	// turns, FlapEvery each, starting with 503).
	Readiness string `json:"readiness"`
	// FlapEvery is how long each half of a flap lasts: 1s to 10m, 10s when left out.
	FlapEvery Duration `json:"flap_every"`
}

// percent is Percent with its default.
func (s *Spec) percent() int {
	if s.Percent == 0 {
		return 100
	}
	return s.Percent
}

// readiness is Readiness with its default.
func (s *Spec) readiness() string {
	if s.Readiness == "" {
		return ReadinessOK
	}
	return s.Readiness
}

func (s *Spec) hasRequestFault() bool { return s.Delay > 0 || s.Error != 0 || s.Hang }

// none reports whether s sets no fault at all.
func (s *Spec) none() bool { return !s.hasRequestFault() && s.readiness() == ReadinessOK }

// check validates s against the bounds, given the server's write timeout, fills in the
// flap's default, and returns the first problem as a reason to show the client.
func (s *Spec) check(writeTimeout time.Duration) error {
	if s.Delay < 0 || time.Duration(s.Delay) >= writeTimeout {
		return fmt.Errorf("delay: must be at least 0s and shorter than the server's WRITE_TIMEOUT (%v), got %v; a longer one is a hang", writeTimeout, s.Delay)
	}
	if s.Error != 0 && (s.Error < 400 || s.Error > 599) {
		return fmt.Errorf("error: want an HTTP status from 400 to 599, got %d", s.Error)
	}
	if s.Hang && s.Error != 0 {
		return errors.New("hang and error exclude each other: a hung request never answers")
	}
	if s.Percent < 0 || s.Percent > 100 {
		return fmt.Errorf("percent: must be between 1 and 100, got %d", s.Percent)
	}
	if s.Percent != 0 && !s.hasRequestFault() {
		return errors.New("percent: applies to delay, error and hang, and none is set")
	}
	switch s.readiness() {
	case ReadinessOK, ReadinessFail:
		if s.FlapEvery != 0 {
			return fmt.Errorf("flap_every: applies only to readiness %q, got readiness %q", ReadinessFlap, s.readiness())
		}
	case ReadinessFlap:
		if s.FlapEvery == 0 {
			s.FlapEvery = Duration(defaultFlap)
		}
		if d := time.Duration(s.FlapEvery); d < minFlap || d > maxFlap {
			return fmt.Errorf("flap_every: must be between %v and %v, got %v", minFlap, maxFlap, d)
		}
	default:
		return fmt.Errorf("readiness: want %s, %s or %s, got %q", ReadinessOK, ReadinessFail, ReadinessFlap, s.Readiness)
	}
	return nil
}

// parseSpec decodes a PUT body strictly: one JSON object with known fields only.
func parseSpec(body []byte) (*Spec, error) {
	var s Spec
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, decodeProblem(err)
	}
	if dec.More() {
		return nil, errors.New("want one JSON object, got more after it")
	}
	return &s, nil
}

// fields lists Spec's JSON names, for the reason an unknown one gets.
const fields = "delay, error, percent, hang, readiness, flap_every"

// decodeProblem turns a decoding error into a reason for the client that names the field.
func decodeProblem(err error) error {
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("unknown field %s: want %s", name, fields)
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return fmt.Errorf("%s: want a JSON %s", typeErr.Field, jsonType(typeErr.Field))
	}
	var durErr *durationError
	if errors.As(err, &durErr) {
		return durErr
	}
	return fmt.Errorf(`want a JSON object such as {"delay":"300ms"} with the fields %s`, fields)
}

// jsonType names what a field of Spec holds.
func jsonType(field string) string {
	switch field {
	case "error", "percent":
		return "number"
	case "hang":
		return "boolean (true or false)"
	case "delay", "flap_every":
		return `string such as "300ms"`
	}
	return "string"
}

// Duration is a time.Duration written in JSON as Go writes durations: "300ms", "1m30s".
type Duration time.Duration

// MarshalJSON writes d as a string such as "300ms".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads a string such as "300ms"; a bare number is refused, since its unit
// would be a guess.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &durationError{got: string(b)}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &durationError{got: strconv.Quote(s)}
	}
	*d = Duration(v)
	return nil
}

// durationError is a duration that does not parse; the decoder does not say which field it
// was in, so the reason names both duration fields' format.
type durationError struct{ got string }

func (e *durationError) Error() string {
	return fmt.Sprintf(`delay and flap_every: want a duration string such as "300ms" or "10s", got %.40s`, e.got)
}
