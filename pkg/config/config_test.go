package config_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/config"
)

type serverConfig struct {
	Port            int           `env:"PORT" envDefault:"8080" min:"0" max:"65535"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"10s"`
}

type clientConfig struct {
	Timeout        time.Duration `env:"TIMEOUT" envDefault:"3s"`
	AttemptTimeout time.Duration `env:"ATTEMPT_TIMEOUT" envDefault:"1s"`
	MaxAttempts    int           `env:"MAX_ATTEMPTS" envDefault:"3" min:"1" max:"10"`
}

// Validate names its variables without prefix; Parse adds the one it is nested under.
func (c clientConfig) Validate() error {
	if c.AttemptTimeout > c.Timeout {
		return config.FieldError{Var: "ATTEMPT_TIMEOUT", Msg: fmt.Sprintf("must not exceed TIMEOUT (%v)", c.Timeout)}
	}
	return nil
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

func (c *testConfig) Validate() error {
	var errs []error
	if c.Client.Timeout > c.Server.ShutdownTimeout {
		errs = append(errs, config.FieldError{Var: "CLIENT_TIMEOUT", Msg: "must not exceed SHUTDOWN_TIMEOUT"})
	}
	if c.Verbose && c.LogLevel > slog.LevelDebug {
		errs = append(errs, errors.New("VERBOSE needs LOG_LEVEL=debug"))
	}
	return errors.Join(errs...)
}

func TestParse(t *testing.T) {
	t.Parallel()
	defaults := testConfig{
		Server:   serverConfig{Port: 8080, ShutdownTimeout: 10 * time.Second},
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
		{name: "nested Validate gets its prefix", environ: []string{"OTHER_ATTEMPT_TIMEOUT=5s"},
			wantErr: []string{"OTHER_ATTEMPT_TIMEOUT: must not exceed TIMEOUT (3s)"}},
		{name: "top-level Validate", environ: []string{"CLIENT_TIMEOUT=20s", "VERBOSE=true"},
			wantErr: []string{"CLIENT_TIMEOUT: must not exceed SHUTDOWN_TIMEOUT", "VERBOSE needs LOG_LEVEL=debug"}},
		{
			name:    "Validate skipped where a variable failed",
			environ: []string{"CLIENT_TIMEOUT=abc", "VERBOSE=true"},
			// Client.Validate would blame CLIENT_ATTEMPT_TIMEOUT against a zero TIMEOUT, and the
			// top-level rule would judge VERBOSE against a config that did not parse.
			wantErr: []string{`CLIENT_TIMEOUT: invalid duration "abc" (want a number with a unit, such as 500ms or 5s)`},
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

func TestParseTagOptions(t *testing.T) {
	t.Parallel()
	type required struct {
		Name  string `env:"NAME,required"`
		Token string `env:"TOKEN,notEmpty"`
	}
	type badTag struct {
		Size  int    `env:"SIZE" min:"one"`
		Label string `env:"LABEL" max:"3"`
	}
	tests := []struct {
		name    string
		parse   func() error
		wantErr string
	}{
		{"required and notEmpty", func() error { _, err := config.Parse[required]([]string{"TOKEN="}); return err },
			"invalid configuration:\n  NAME: required but not set\n  TOKEN: must not be empty"},
		{"unusable min/max tags", func() error { _, err := config.Parse[badTag](nil); return err },
			"invalid configuration:\n  LABEL: min/max tags need an integer field, not string\n  SIZE: invalid min tag \"one\""},
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
