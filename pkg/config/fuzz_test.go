package config_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/svc2svc/svc2svc/pkg/config"
)

// fuzzConfig has a field of every kind a service's configuration uses.
type fuzzConfig struct {
	Port    int           `env:"PORT" envDefault:"8080" min:"0" max:"65535"`
	Timeout time.Duration `env:"TIMEOUT" envDefault:"1s"`
	Level   slog.Level    `env:"LOG_LEVEL" envDefault:"info"`
	Verbose bool          `env:"VERBOSE"`
	Workers uint8         `env:"WORKERS" envDefault:"4" max:"16"`
	Ratio   float64       `env:"RATIO"`
	Name    string        `env:"NAME"`
	Client  fuzzClient    `envPrefix:"CLIENT_"`
}

type fuzzClient struct {
	Attempts int           `env:"ATTEMPTS" envDefault:"3" min:"1" max:"10"`
	Timeout  time.Duration `env:"TIMEOUT" envDefault:"3s"`
}

// FuzzParse feeds arbitrary values to Parse: it never panics, and either every value is
// within its rules or the error names only variables that were set, one line each.
func FuzzParse(f *testing.F) {
	f.Add("8080", "1s", "info", "true", "4", "0.5", "svc", "3", "3s")
	f.Add("abc", "-1s", "loud", "yes", "300", "NaN", "", "0", "3")
	f.Add("0x10", "1h2m3.5s", "DEBUG+2", "1", "016", "1e309", "a=b", "11", "")
	f.Add("-0", "9223372036854775807ns", "warn-4", "T", "-1", "-Inf", "\x00", "+5", "1us")
	f.Add(" 80", "1 s", "", "", "", "", "${HOME}", " 3", "5m ")
	vars := []string{"PORT", "TIMEOUT", "LOG_LEVEL", "VERBOSE", "WORKERS", "RATIO", "NAME", "CLIENT_ATTEMPTS", "CLIENT_TIMEOUT"}
	f.Fuzz(func(t *testing.T, port, timeout, level, verbose, workers, ratio, name, attempts, clientTimeout string) {
		values := []string{port, timeout, level, verbose, workers, ratio, name, attempts, clientTimeout}
		set := map[string]bool{}
		environ := make([]string, len(vars))
		for i, v := range vars {
			environ[i] = v + "=" + values[i]
			set[v] = values[i] != ""
		}
		cfg, err := config.Parse[fuzzConfig](environ)
		if err != nil {
			if cfg != (fuzzConfig{}) {
				t.Errorf("Parse(%q) = %+v with an error, want the zero config", environ, cfg)
			}
			lines := strings.Split(err.Error(), "\n")
			if lines[0] != "invalid configuration:" || len(lines) < 2 {
				t.Fatalf("Parse(%q) error = %q, want \"invalid configuration:\" and one line per problem", environ, err)
			}
			var fe config.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("Parse(%q) error = %q, want FieldErrors", environ, err)
			}
			for _, line := range lines[1:] {
				v, _, _ := strings.Cut(strings.TrimPrefix(line, "  "), ":")
				if !strings.HasPrefix(line, "  ") || !set[v] {
					t.Errorf("Parse(%q) error line %q, want it to name a variable that was set", environ, line)
				}
			}
			return
		}
		if cfg.Port < 0 || cfg.Port > 65535 || cfg.Timeout < 0 || cfg.Workers > 16 ||
			cfg.Client.Attempts < 1 || cfg.Client.Attempts > 10 || cfg.Client.Timeout < 0 {
			t.Errorf("Parse(%q) = %+v, want every value within its rules", environ, cfg)
		}
		if cfg.Name != name {
			t.Errorf("Parse(%q) Name = %q, want %q as given", environ, cfg.Name, name)
		}
	})
}
