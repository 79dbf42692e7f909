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
