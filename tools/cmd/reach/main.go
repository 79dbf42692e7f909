// Command reach tells, from inside a pod, which addresses the pod's NetworkPolicies let it
// reach. Each argument is one check, NAME=tcp:HOST:PORT (open a TCP connection) or
// NAME=dns:HOST (resolve HOST through the pod's resolver, that is cluster DNS); reach prints one
// JSON line per check, in argument order, with what it saw: reached, refused (the enforcer
// rejected it, as kube-router does), unreachable (an ICMP "host prohibited"), timeout (the
// packets were dropped, as most enforcers do) or failed (anything else).
//
//	reach -settle 8s -wait 10s backend=tcp:10.244.0.7:8080 dns=dns:kubernetes.default.svc.cluster.local.
//
// An enforcer programs a new pod's rules a few seconds after the pod starts, and until then
// the pod may get through where it will not later, or be refused where it will not later. So
// reach waits -settle before its first try and judges nothing earlier; then it tries each
// check every -interval until it gets through or -wait has passed. A check that got through
// reports reached at once; one that never did reports its last failure after -settle + -wait.
// The e2e (scripts/e2e/networkpolicy.sh) runs it as a Job with the labels under test.
package main

import (
	"context"
	"os"

	"github.com/svc2svc/svc2svc/tools/internal/cli"
)

func main() {
	cli.Main("reach", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	})
}
