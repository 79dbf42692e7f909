package config_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/config"
)

type serverConfig struct {
	Port            int           `env:"PORT" envDefault:"8080" min:"0" max:"65535"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"10s"`
	Grace           time.Duration `env:"GRACE" envDefault:"1s" min:"1ms" max:"1m"`
	Linger          time.Duration `env:"LINGER" envDefault:"1s" max:"1h"`
}

type clientConfig struct {
	Timeout        time.Duration `env:"TIMEOUT" envDefault:"3s"`
	AttemptTimeout time.Duration `env:"ATTEMPT_TIMEOUT" envDefault:"1s"`
	MaxAttempts    int           `env:"MAX_ATTEMPTS" envDefault:"3" min:"1" max:"10"`
}

// Validate names fields, not variables; Parse knows the prefix each is read under.
func (c *clientConfig) Validate(r *config.Rules) {
	if c.AttemptTimeout > c.Timeout {
		r.Fail(&c.AttemptTimeout, "must not exceed %s, got %v", &c.Timeout, c.AttemptTimeout)
	}
}

type testConfig struct {
	Server serverConfig
	// Client and Other have the same field names: errors must still name the right one.
	Client   clientConfig `envPrefix:"CLIENT_"`
	Other    clientConfig `envPrefix:"OTHER_"`
	LogLevel slog.Level   `env:"LOG_LEVEL" envDefault:"info"`
	Verbose  bool         `env:"VERBOSE"`
	Workers  uint8        `env:"WORKERS" envDefault:"4" max:"16"`
}

// Validate holds the rules that span the nested structs.
func (c *testConfig) Validate(r *config.Rules) {
	if c.Client.Timeout > c.Server.ShutdownTimeout {
		r.Fail(&c.Client.Timeout, "must not exceed %s", &c.Server.ShutdownTimeout)
	}
	if c.Verbose && c.LogLevel > slog.LevelDebug {
		r.Fail(&c.Verbose, "needs debug logs, got %s", &c.LogLevel)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	defaults := testConfig{
		Server:   serverConfig{Port: 8080, ShutdownTimeout: 10 * time.Second, Grace: time.Second, Linger: time.Second},
		Client:   clientConfig{Timeout: 3 * time.Second, AttemptTimeout: time.Second, MaxAttempts: 3},
		Other:    clientConfig{Timeout: 3 * time.Second, AttemptTimeout: time.Second, MaxAttempts: 3},
		LogLevel: slog.LevelInfo,
		Workers:  4,
	}
	tests := []struct {
		name    string
		environ []string
		want    func(c *testConfig) // edits defaults into the expected config
		wantErr []string            // the lines after "invalid configuration:"
	}{
		{name: "empty environment gives defaults", environ: nil, want: func(*testConfig) {}},
		{
			name: "values override defaults",
			environ: []string{"PORT=0", "SHUTDOWN_TIMEOUT=30s", "CLIENT_MAX_ATTEMPTS=10", "OTHER_TIMEOUT=2s",
				"LOG_LEVEL=debug", "VERBOSE=true", "WORKERS=16", "UNRELATED=x", "NOT_A_PAIR"},
			want: func(c *testConfig) {
				c.Server.Port, c.Server.ShutdownTimeout = 0, 30*time.Second
				c.Client.MaxAttempts, c.Other.Timeout = 10, 2*time.Second
				c.LogLevel, c.Verbose, c.Workers = slog.LevelDebug, true, 16
			},
		},
		{name: "empty value means default", environ: []string{"PORT=", "LOG_LEVEL="}, want: func(*testConfig) {}},
		{name: "log level names are case-insensitive", environ: []string{"LOG_LEVEL=WARN"},
			want: func(c *testConfig) { c.LogLevel = slog.LevelWarn }},
		{name: "bad integer", environ: []string{"PORT=abc"}, wantErr: []string{`PORT: invalid integer "abc"`}},
		{name: "negative duration", environ: []string{"SHUTDOWN_TIMEOUT=-1s"},
			wantErr: []string{"SHUTDOWN_TIMEOUT: must not be negative (-1s)"}},
		{name: "bad duration", environ: []string{"CLIENT_TIMEOUT=3"},
			wantErr: []string{`CLIENT_TIMEOUT: invalid duration "3" (want a number with a unit, such as 500ms or 5s)`}},
		{name: "unknown log level", environ: []string{"LOG_LEVEL=verbose"},
			wantErr: []string{`LOG_LEVEL: invalid log level "verbose" (want debug, info, warn or error)`}},
		{name: "bad boolean", environ: []string{"VERBOSE=yes"},
			wantErr: []string{`VERBOSE: invalid boolean "yes" (want true or false)`}},
		{name: "above max", environ: []string{"PORT=65536"}, wantErr: []string{"PORT: must be between 0 and 65535, got 65536"}},
		{name: "below min", environ: []string{"PORT=-1"}, wantErr: []string{"PORT: must be between 0 and 65535, got -1"}},
		{name: "max only", environ: []string{"WORKERS=17"}, wantErr: []string{"WORKERS: must be at most 16, got 17"}},
		{name: "out of range for the type", environ: []string{"WORKERS=300"},
			wantErr: []string{`WORKERS: "300" is out of range for uint8`}},
		{name: "nested prefix is named", environ: []string{"OTHER_MAX_ATTEMPTS=0"},
			wantErr: []string{"OTHER_MAX_ATTEMPTS: must be between 1 and 10, got 0"}},
		{name: "same field name in two prefixes", environ: []string{"OTHER_MAX_ATTEMPTS=x"},
			wantErr: []string{`OTHER_MAX_ATTEMPTS: invalid integer "x"`}},
		{name: "duration below min", environ: []string{"GRACE=0"}, wantErr: []string{"GRACE: must be between 1ms and 1m, got 0s"}},
		{name: "duration above max", environ: []string{"GRACE=2h"}, wantErr: []string{"GRACE: must be between 1ms and 1m, got 2h0m0s"}},
		{name: "duration max only, negative", environ: []string{"LINGER=-1s"}, wantErr: []string{"LINGER: must be between 0 and 1h, got -1s"}},
		{name: "duration at its bounds", environ: []string{"GRACE=1m", "LINGER=0s"},
			want: func(c *testConfig) { c.Server.Grace, c.Server.Linger = time.Minute, 0 }},
		{name: "absurd duration", environ: []string{"LINGER=2562047h"}, wantErr: []string{"LINGER: must be between 0 and 1h, got 2562047h0m0s"}},
		{name: "nested rule names its fields with their prefix", environ: []string{"OTHER_ATTEMPT_TIMEOUT=5s"},
			wantErr: []string{"OTHER_ATTEMPT_TIMEOUT: must not exceed OTHER_TIMEOUT (3s), got 5s"}},
		{name: "top-level rules", environ: []string{"CLIENT_TIMEOUT=20s", "VERBOSE=true"},
			wantErr: []string{"CLIENT_TIMEOUT: must not exceed SHUTDOWN_TIMEOUT (10s)", "VERBOSE: needs debug logs, got LOG_LEVEL (INFO)"}},
		{
			name:    "bad variables and broken rules at once",
			environ: []string{"PORT=abc", "OTHER_ATTEMPT_TIMEOUT=5s", "VERBOSE=true"},
			wantErr: []string{
				"OTHER_ATTEMPT_TIMEOUT: must not exceed OTHER_TIMEOUT (3s), got 5s",
				`PORT: invalid integer "abc"`,
				"VERBOSE: needs debug logs, got LOG_LEVEL (INFO)",
			},
		},
		{
			name:    "rules about a reported variable are left out, the others run",
			environ: []string{"CLIENT_TIMEOUT=abc", "CLIENT_ATTEMPT_TIMEOUT=5s", "SHUTDOWN_TIMEOUT=-1s", "VERBOSE=true"},
			// Client's rule would judge CLIENT_ATTEMPT_TIMEOUT against a TIMEOUT the user did not
			// write, and the top-level one CLIENT_TIMEOUT against SHUTDOWN_TIMEOUT; VERBOSE's rule
			// involves neither.
			wantErr: []string{
				`CLIENT_TIMEOUT: invalid duration "abc" (want a number with a unit, such as 500ms or 5s)`,
				"SHUTDOWN_TIMEOUT: must not be negative (-1s)",
				"VERBOSE: needs debug logs, got LOG_LEVEL (INFO)",
			},
		},
		{
			name: "several bad at once, sorted by name",
			environ: []string{"SHUTDOWN_TIMEOUT=-5m", "PORT=abc", "LOG_LEVEL=loud", "CLIENT_MAX_ATTEMPTS=11",
				"OTHER_ATTEMPT_TIMEOUT=-1ms", "VERBOSE=maybe"},
			wantErr: []string{
				"CLIENT_MAX_ATTEMPTS: must be between 1 and 10, got 11",
				`LOG_LEVEL: invalid log level "loud" (want debug, info, warn or error)`,
				"OTHER_ATTEMPT_TIMEOUT: must not be negative (-1ms)",
				`PORT: invalid integer "abc"`,
				"SHUTDOWN_TIMEOUT: must not be negative (-5m0s)",
				`VERBOSE: invalid boolean "maybe" (want true or false)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.Parse[testConfig](tt.environ)
			if tt.wantErr != nil {
				want := "invalid configuration:\n  " + strings.Join(tt.wantErr, "\n  ")
				if err == nil || err.Error() != want {
					t.Fatalf("Parse(%q) error = %v, want\n%s", tt.environ, err, want)
				}
				if got != (testConfig{}) {
					t.Errorf("Parse(%q) = %+v with an error, want the zero config", tt.environ, got)
				}
				return
			}
			want := defaults
			tt.want(&want)
			if err != nil || got != want {
				t.Fatalf("Parse(%q) = %+v, %v, want %+v, nil", tt.environ, got, err, want)
			}
		})
	}
}

func TestParseFieldError(t *testing.T) {
	t.Parallel()
	_, err := config.Parse[testConfig]([]string{"PORT=abc", "SHUTDOWN_TIMEOUT=-1s"})
	var fe config.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("errors.As(%v, *FieldError) = false, want true", err)
	}
	if fe.Var != "PORT" {
		t.Errorf("first FieldError.Var = %q, want %q", fe.Var, "PORT")
	}
}

// valueRule's Validate has a value receiver by mistake: its rule points into a copy.
type valueRule struct {
	N int `env:"N"`
}

func (c valueRule) Validate(r *config.Rules) { r.Fail(&c.N, "must be positive") }

func TestParseTagOptions(t *testing.T) {
	t.Parallel()
	type required struct {
		Name  string `env:"NAME,required"`
		Token string `env:"TOKEN,notEmpty"`
	}
	type badTag struct {
		Size  int           `env:"SIZE" min:"one"`
		Label string        `env:"LABEL" max:"3"`
		Wait  time.Duration `env:"WAIT" max:"3"`
	}
	tests := []struct {
		name    string
		parse   func() error
		wantErr string
	}{
		{"required and notEmpty", func() error { _, err := config.Parse[required]([]string{"TOKEN="}); return err },
			"invalid configuration:\n  NAME: required but not set\n  TOKEN: must not be empty"},
		{"unusable min/max tags", func() error { _, err := config.Parse[badTag](nil); return err },
			"invalid configuration:\n  LABEL: min/max tags need an integer or duration field, not string\n  SIZE: invalid min tag \"one\"\n  WAIT: invalid max tag \"3\""},
		{"rule with a value receiver", func() error { _, err := config.Parse[valueRule](nil); return err },
			"invalid configuration:\n  must be positive (a rule names a *int outside the configuration: does Validate have a pointer receiver?)"},
		{"not a struct", func() error { _, err := config.Parse[int](nil); return err },
			"invalid configuration:\n  expected a pointer to a Struct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.parse(); err == nil || err.Error() != tt.wantErr {
				t.Errorf("Parse error = %v, want\n%s", err, tt.wantErr)
			}
		})
	}
}
