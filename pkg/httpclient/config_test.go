package httpclient_test

import (
	"testing"

	"github.com/svc2svc/svc2svc/pkg/config/configtest"
	"github.com/svc2svc/svc2svc/pkg/httpclient"
)

// clientEnv embeds Config the way the services do, so the variables carry the prefix.
type clientEnv struct {
	Client httpclient.Config `envPrefix:"CLIENT_"`
}

// TestConfigRules checks the bounds and rules config.Parse applies to Config, by the
// variables each environment gets refused for.
func TestConfigRules(t *testing.T) {
	t.Parallel()
	configtest.Refuses[clientEnv](t, "defaults", nil)
	configtest.Refuses[clientEnv](t, "no maximum age", []string{"CLIENT_MAX_CONN_AGE=-1s"})
	configtest.Refuses[clientEnv](t, "attempt as long as the call", []string{"CLIENT_TIMEOUT=1s", "CLIENT_ATTEMPT_TIMEOUT=1s"})
	configtest.Refuses[clientEnv](t, "attempt longer than the call", []string{"CLIENT_TIMEOUT=1s", "CLIENT_ATTEMPT_TIMEOUT=2s"}, "CLIENT_ATTEMPT_TIMEOUT")
	configtest.Refuses[clientEnv](t, "0 that used to mean no maximum age", []string{"CLIENT_MAX_CONN_AGE=0"}, "CLIENT_MAX_CONN_AGE")
	configtest.Refuses[clientEnv](t, "absurd connect timeout", []string{"CLIENT_CONNECT_TIMEOUT=5m"}, "CLIENT_CONNECT_TIMEOUT")
	configtest.Refuses[clientEnv](t, "zero timeouts", []string{"CLIENT_TIMEOUT=0", "CLIENT_ATTEMPT_TIMEOUT=0s", "CLIENT_BACKOFF_BASE=0"}, "CLIENT_ATTEMPT_TIMEOUT", "CLIENT_BACKOFF_BASE", "CLIENT_TIMEOUT")
	configtest.Refuses[clientEnv](t, "bad call timeout leaves the attempt rule out", []string{"CLIENT_TIMEOUT=1h", "CLIENT_ATTEMPT_TIMEOUT=50s"}, "CLIENT_TIMEOUT")
	configtest.Refuses[clientEnv](t, "ejection set", []string{"CLIENT_EJECT_AFTER=5", "CLIENT_EJECT_FOR=1s", "CLIENT_EJECT_FOR_MAX=1m", "CLIENT_EJECT_MAX_PERCENT=100"})
	configtest.Refuses[clientEnv](t, "ejection out of range", []string{"CLIENT_EJECT_AFTER=0", "CLIENT_EJECT_FOR=0", "CLIENT_EJECT_FOR_MAX=2h", "CLIENT_EJECT_MAX_PERCENT=101"},
		"CLIENT_EJECT_AFTER", "CLIENT_EJECT_FOR", "CLIENT_EJECT_FOR_MAX", "CLIENT_EJECT_MAX_PERCENT")
	configtest.Refuses[clientEnv](t, "retries out of range", []string{"CLIENT_MAX_ATTEMPTS=0", "CLIENT_MAX_CONN_AGE=-1m"}, "CLIENT_MAX_ATTEMPTS", "CLIENT_MAX_CONN_AGE")
}
