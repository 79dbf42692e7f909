// Package configtest checks a configuration's rules the way a user meets them: by the
// variables config.Parse refuses an environment for. Each package that owns a Config states
// its cases as one call each, so the checking is written once.
package configtest

import (
	"slices"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/config"
)

// Refuses parses environ into T in a parallel subtest called name, and fails it unless the
// variables refused are exactly wantVars, sorted as config.Vars returns them (none: accepted).
func Refuses[T any](t *testing.T, name string, environ []string, wantVars ...string) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		_, err := config.Parse[T](environ)
		if got := config.Vars(err); !slices.Equal(got, wantVars) {
			t.Errorf("Parse(%q) refuses %q, want %q (error: %v)", environ, got, wantVars, err)
		}
	})
}
