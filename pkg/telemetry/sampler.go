package telemetry

import (
	"fmt"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/svc2svc/svc2svc/pkg/config"
)

// newSampler maps the spec's OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG values to an SDK
// sampler. Unlike the SDK's own reading of the variables, which falls back to a default with
// a warning nobody sees, a bad value is an error, so a typo does not silently change what is
// traced.
func newSampler(name, arg string) (sdktrace.Sampler, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		ratio, err := samplerRatio(arg)
		if err != nil {
			return nil, err
		}
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		ratio, err := samplerRatio(arg)
		if err != nil {
			return nil, err
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	}
	return nil, config.FieldError{Var: "OTEL_TRACES_SAMPLER", Msg: fmt.Sprintf("unknown sampler %q (want always_on, "+
		"always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio)", name)}
}

// samplerArgVar names the variable of the sampler's argument in its errors.
const samplerArgVar = "OTEL_TRACES_SAMPLER_ARG"

// samplerRatio parses the ratio of the traceidratio samplers; the spec's default is 1.
func samplerRatio(arg string) (float64, error) {
	if strings.TrimSpace(arg) == "" {
		return 1, nil
	}
	ratio, err := strconv.ParseFloat(strings.TrimSpace(arg), 64)
	if err != nil || !(ratio >= 0 && ratio <= 1) { // also rejects NaN
		return 0, config.FieldError{Var: samplerArgVar,
			Msg: fmt.Sprintf("want a ratio between 0 and 1, got %q", arg)}
	}
	return ratio, nil
}
