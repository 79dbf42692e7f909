package servicetest

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/svc2svc/svc2svc/pkg/config"
	"github.com/svc2svc/svc2svc/pkg/service"
)

// MainFunc is a service's Run as its main calls it.
type MainFunc func(ctx context.Context, args, environ []string, stdout io.Writer, opts ...service.Option) error

// Refusal is one way a service must refuse to start.
type Refusal struct {
	Name     string
	Args     []string
	Environ  []string
	WantVars []string // exactly the variables named (sorted), for a configuration error
	WantText []string // what the error must also say
}

// Refuses runs the service once per case, in parallel subtests, and fails a case unless Run
// returns an error that names exactly its WantVars, says each WantText, and came before the
// service listened: bad input must stop a process before it takes any traffic.
func Refuses(t *testing.T, run MainFunc, cases []Refusal) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			var out Buffer
			var listened atomic.Bool
			err := run(context.Background(), tc.Args, tc.Environ, &out, service.OnListen(func(string) { listened.Store(true) }))
			if err == nil {
				t.Fatalf("Run(%q, %q) = nil, want an error", tc.Args, tc.Environ)
			}
			if got := config.Vars(err); !slices.Equal(got, tc.WantVars) {
				t.Errorf("Run(%q) = %q, naming %q, want %q", tc.Environ, err, got, tc.WantVars)
			}
			for _, s := range tc.WantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Run(%q, %q) = %q, want it to say %q", tc.Args, tc.Environ, err, s)
				}
			}
			if listened.Load() {
				t.Errorf("Run(%q) listened before failing; logs:\n%s", tc.Environ, out.String())
			}
		})
	}
}
