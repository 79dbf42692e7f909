package telemetry

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/svc2svc/svc2svc/pkg/config"
)

// Config is read from the standard OpenTelemetry variables (plus the pod's identity from the
// Downward API), so a cluster's usual tracing setup works unchanged.
type Config struct {
	// OTLPEndpoint is the collector's base URL for OTLP over HTTP, such as
	// http://otel-collector:4318. Traces go to its path + "/v1/traces", as the OTel spec says
	// for this variable. Empty means no exporter: spans get ids for the logs but go nowhere.
	OTLPEndpoint string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	// Sampler is one of the OTel spec's OTEL_TRACES_SAMPLER values: always_on, always_off,
	// traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio.
	// The default follows the caller's decision and samples every new trace.
	Sampler string `env:"OTEL_TRACES_SAMPLER" envDefault:"parentbased_always_on"`
	// SamplerArg is the ratio in [0, 1] for the traceidratio samplers; empty means 1.
	SamplerArg string `env:"OTEL_TRACES_SAMPLER_ARG"`
	// PodName becomes the k8s.pod.name resource attribute.
	PodName string `env:"POD_NAME"`
	// Namespace becomes the k8s.namespace.name resource attribute.
	Namespace string `env:"POD_NAMESPACE"`
}

// Validate reports a bad sampler or endpoint, so that config.Parse rejects them with the other
// bad variables before the service starts.
func (c *Config) Validate(r *config.Rules) {
	if _, err := newSampler(c.Sampler, c.SamplerArg); err != nil {
		var fe config.FieldError
		errors.As(err, &fe)
		field := &c.Sampler
		if fe.Var == samplerArgVar {
			field = &c.SamplerArg
		}
		r.Fail(field, "%s", fe.Msg)
	}
	if c.OTLPEndpoint != "" {
		if _, err := tracesURL(c.OTLPEndpoint); err != nil {
			var fe config.FieldError
			errors.As(err, &fe)
			r.Fail(&c.OTLPEndpoint, "%s", fe.Msg)
		}
	}
}

// check is Validate for a Config that did not come through config.Parse.
func (c Config) check() error {
	var errs []error
	if _, err := newSampler(c.Sampler, c.SamplerArg); err != nil {
		errs = append(errs, err)
	}
	if c.OTLPEndpoint != "" {
		if _, err := tracesURL(c.OTLPEndpoint); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tracesURL turns the base endpoint into the URL of the traces service. The exporter's
// WithEndpointURL uses its path as given, so the signal path is added here: appended to the
// base path per the spec, except when the URL already ends with it.
func tracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", config.FieldError{Var: "OTEL_EXPORTER_OTLP_ENDPOINT",
			Msg: fmt.Sprintf("want an http:// or https:// URL such as http://collector:4318, got %q", endpoint)}
	}
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}
