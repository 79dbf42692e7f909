package config_test

import (
	"fmt"
	"time"

	"github.com/svc2svc/svc2svc/pkg/config"
)

// ExampleParse shows a service refusing to start: every bad variable is named in one error.
func ExampleParse() {
	type Config struct {
		Port            int           `env:"PORT" envDefault:"8080" min:"0" max:"65535"`
		ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"10s"`
	}
	cfg, err := config.Parse[Config]([]string{"SHUTDOWN_TIMEOUT=15s"})
	fmt.Println(cfg.Port, cfg.ShutdownTimeout, err)

	_, err = config.Parse[Config]([]string{"PORT=abc", "SHUTDOWN_TIMEOUT=-1s"})
	fmt.Println(err)
	// Output:
	// 8080 15s <nil>
	// invalid configuration:
	//   PORT: invalid integer "abc"
	//   SHUTDOWN_TIMEOUT: must not be negative (-1s)
}

// limits is a reusable block with a rule of its own; it does not know the prefix it is read
// under.
type limits struct {
	Timeout        time.Duration `env:"TIMEOUT" envDefault:"3s" min:"1ms" max:"5m"`
	AttemptTimeout time.Duration `env:"ATTEMPT_TIMEOUT" envDefault:"1s" min:"1ms" max:"1m"`
}

// Validate names fields by pointer: Parse turns them into variables, prefix included.
func (l *limits) Validate(r *config.Rules) {
	if l.AttemptTimeout > l.Timeout {
		r.Fail(&l.AttemptTimeout, "must not exceed %s, got %v", &l.Timeout, l.AttemptTimeout)
	}
}

// ExampleRules_Fail shows a nested block's rule reported under its full variable name, next
// to a bad variable of the outer struct: every problem at once.
func ExampleRules_Fail() {
	type Config struct {
		Port   int    `env:"PORT" envDefault:"8080" min:"0" max:"65535"`
		Client limits `envPrefix:"CLIENT_"`
	}
	_, err := config.Parse[Config]([]string{"PORT=abc", "CLIENT_ATTEMPT_TIMEOUT=5s"})
	fmt.Println(err)
	fmt.Println(config.Vars(err))
	// Output:
	// invalid configuration:
	//   CLIENT_ATTEMPT_TIMEOUT: must not exceed CLIENT_TIMEOUT (3s), got 5s
	//   PORT: invalid integer "abc"
	// [CLIENT_ATTEMPT_TIMEOUT PORT]
}
