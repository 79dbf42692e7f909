package telemetry

import "testing"

func TestNewSampler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, arg string
		want      string // the sampler's Description, or the error text
	}{
		{"always_on", "", "AlwaysOnSampler"},
		{"always_off", "", "AlwaysOffSampler"},
		{"traceidratio", "0.25", "TraceIDRatioBased{0.25}"},
		{"traceidratio", "", "TraceIDRatioBased{1}"},
		{"parentbased_always_on", "", "ParentBased{root:AlwaysOnSampler,remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}"},
		{"", "", "ParentBased{root:AlwaysOnSampler,remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}"},
		{"parentbased_always_off", "", "ParentBased{root:AlwaysOffSampler,remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}"},
		{"parentbased_traceidratio", " 0.5 ", "ParentBased{root:TraceIDRatioBased{0.5},remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}"},
		{"ALWAYS_ON", "", "AlwaysOnSampler"},
		{"jaeger_remote", "", `OTEL_TRACES_SAMPLER: unknown sampler "jaeger_remote" (want always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio)`},
		{"traceidratio", "1.5", `OTEL_TRACES_SAMPLER_ARG: want a ratio between 0 and 1, got "1.5"`},
		{"parentbased_traceidratio", "half", `OTEL_TRACES_SAMPLER_ARG: want a ratio between 0 and 1, got "half"`},
		{"traceidratio", "NaN", `OTEL_TRACES_SAMPLER_ARG: want a ratio between 0 and 1, got "NaN"`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.arg, func(t *testing.T) {
			t.Parallel()
			s, err := newSampler(tt.name, tt.arg)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = s.Description()
			}
			if got != tt.want {
				t.Errorf("newSampler(%q, %q) = %s, want %s", tt.name, tt.arg, got, tt.want)
			}
		})
	}
}

func TestTracesURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ endpoint, want string }{
		{"http://collector:4318", "http://collector:4318/v1/traces"},
		{"http://collector:4318/", "http://collector:4318/v1/traces"},
		{"https://collector.example:443/otlp", "https://collector.example:443/otlp/v1/traces"},
		{"http://collector:4318/v1/traces", "http://collector:4318/v1/traces"},
		{"collector:4318", `OTEL_EXPORTER_OTLP_ENDPOINT: want an http:// or https:// URL such as http://collector:4318, got "collector:4318"`},
		{"http://", `OTEL_EXPORTER_OTLP_ENDPOINT: want an http:// or https:// URL such as http://collector:4318, got "http://"`},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			t.Parallel()
			got, err := tracesURL(tt.endpoint)
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("tracesURL(%q) = %s, want %s", tt.endpoint, got, tt.want)
			}
		})
	}
}
