# The workspace root has no go.mod, so ./... means nothing here: every target loops over the
# workspace's modules instead.
MODULES := $(shell go list -f '{{.Dir}}/...' -m)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHTIME ?= 1s

.PHONY: run test fmt vet staticcheck tidy-check deps-check bench fuzz build e2e check load bench-compare bench-tls plot probes certs cert-manager

## run: start 3 backend replicas, a loopback DNS server and the frontend; Ctrl-C stops all.
## Built, then run, not `go run`: go run exits 1 on an interrupt whatever the program's own
## exit (cmd/go's builder sets it as the signal arrives), so make said "Error 1" on every Ctrl-C.
## The second line has no shell syntax, so make runs the binary itself and sees its exit 0.
run:
	go build -o bin/localpair ./tools/cmd/localpair
	bin/localpair

## test: unit and integration tests of all modules with the race detector. The browser test
## (tools/browsertest) drives headless Chromium: without one ($$CHROMIUM or on PATH), Debian's
## chromium package is installed first.
test:
	@[ -n "$$CHROMIUM" ] || bash scripts/need.sh chromium chromium chromium-browser google-chrome google-chrome-stable
	go test -race -count=1 $(MODULES)

## fmt: fail when gofmt would change a file.
fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	go vet $(MODULES)

staticcheck:
	go run $(STATICCHECK) $(MODULES)

## tidy-check: fail when go mod tidy changes any module.
tidy-check:
	@for d in pkg services/backend services/frontend tools; do (cd $$d && go mod tidy) || exit 1; done
	@git diff --exit-code -- '*go.mod' '*go.sum' || { echo "go mod tidy changed the files above"; exit 1; }

## deps-check: fail when a service binary links a test helper (pkg/*test), the tools module or
## the load harness's vegeta: what ships stays apart from what helps.
deps-check:
	@bad=$$(for s in backend frontend; do go list -deps ./services/$$s | sed "s#^#$$s: #"; done | \
	  grep -E 'svc2svc/svc2svc/(pkg/[^ ]*test|tools)($$|/)|tsenart/vegeta' || true); \
	  if [ -n "$$bad" ]; then echo "service binaries link helpers:"; echo "$$bad"; exit 1; fi

## bench: the benchmarks of all modules (no tests).
bench:
	go test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(MODULES)

## fuzz: a short run of every fuzz target (the seed corpus also runs in make test).
fuzz:
	go test -run '^$$' -fuzz FuzzEnvPrefix -fuzztime 15s ./pkg/discovery
	go test -run '^$$' -fuzz FuzzEnvEndpoint -fuzztime 15s ./pkg/discovery
	go test -run '^$$' -fuzz FuzzSpreadN -fuzztime 15s ./services/frontend/app
	go test -run '^$$' -fuzz FuzzNegotiate -fuzztime 15s ./services/frontend/app
	go test -run '^$$' -fuzz FuzzParse -fuzztime 15s ./pkg/config
	go test -run '^$$' -fuzz FuzzDNSAnswers -fuzztime 15s ./pkg/discovery
	go test -run '^$$' -fuzz FuzzStream -fuzztime 15s ./pkg/endpointslices

## load: drive the local pair (started in-process) at a constant rate and report success,
## latency and the answers per backend pod; bin/load.json and bin/load.html (the plot) hold the
## results. LOAD_FLAGS adds or overrides harness flags, e.g. LOAD_FLAGS='-rate 300 -duration 30s'
## (see go run ./tools/cmd/load -h). Exits 1 on any failed request.
LOAD_FLAGS ?=
load:
	mkdir -p bin
	go run ./tools/cmd/load -rate 100 -duration 10s -json bin/load.json -plot bin/load.html $(LOAD_FLAGS)

## bench-compare: what the pair costs against the floor (tools/cmd/hopcost): a bare net/http
## hello (A), a bare httputil.ReverseProxy -> that hello (B), the backend alone, the pair
## (frontend -> backend) and the pair over HTTPS and over mutual TLS, each server a process of
## its own as built by make build, under wrk (Debian: apt-get install wrk) with 64 keep-alive
## connections, in 3 interleaved rounds of 10 s; prints throughput, p99 and server CPU per
## request (from /proc), the ratios to A and B (the TLS pairs' to the plain pair) and the TLS
## backends' handshakes per request (from their /metrics). COMPARE_FLAGS adds or overrides
## flags, e.g. COMPARE_FLAGS='-rounds 5 -env LOG_LEVEL=warn', or -tls=false.
COMPARE_FLAGS ?=
bench-compare: build
	go run ./tools/cmd/hopcost $(COMPARE_FLAGS)

## bench-tls: the load harness's comparison, in-process: backend alone, frontend -> backend,
## httputil.ReverseProxy -> backend, and the frontend calling an HTTPS and a mutual TLS backend,
## at max rate with 8 requests in flight, in 3 rounds; prints the medians. TLS_COMPARE_FLAGS adds
## or overrides flags (go run ./tools/cmd/load -h).
TLS_COMPARE_FLAGS ?=
bench-tls:
	go run ./tools/cmd/load -bench-compare -tls -rate 0 -max-workers 8 -duration 5s -rounds 3 $(TLS_COMPARE_FLAGS)

## plot: render a load harness HTML plot (make load's bin/load.html, or NAME.html in the e2e's
## E2E_ARTIFACTS) to a PNG with headless Chromium (Debian: apt-get install chromium), e.g.
##   make plot PLOT_HTML=/tmp/e2e/restart-backend.html PLOT_PNG=docs/failover-plot.png
## The virtual time budget lets the page's script draw the charts before the screenshot.
PLOT_HTML ?= bin/load.html
PLOT_PNG ?= $(PLOT_HTML:.html=.png)
PLOT_SIZE ?= 1200,1150
CHROMIUM ?= chromium
plot:
	@test -f "$(PLOT_HTML)" || { echo "no $(PLOT_HTML): run make load, or set PLOT_HTML"; exit 1; }
	@rm -f "$(PLOT_PNG)"
	@# Chromium's stderr (dbus and GPU chatter on a headless machine) is shown only on failure.
	@out=$$($(CHROMIUM) --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=$(PLOT_SIZE) \
	  --virtual-time-budget=5000 --screenshot=$(abspath $(PLOT_PNG)) file://$(abspath $(PLOT_HTML)) 2>&1); \
	  if [ -s "$(PLOT_PNG)" ]; then echo "$(PLOT_PNG) from $(PLOT_HTML)"; else echo "$$out"; echo "$(CHROMIUM) wrote no $(PLOT_PNG)"; exit 1; fi

## probes: knock on the local pair's front door (idle and slowloris connections, large spreads
## and bodies, HEAD, repeated n, a huge X-Request-Id, security headers, /metrics) and print what
## each probe saw beside what it wants (docs/operations.md#security). Reports, never fails;
## PROBE_FLAGS='-strict' fails on a mismatch, PROBE_FLAGS='-target http://10.10.0.2:30080' probes the lab.
PROBE_FLAGS ?=
probes:
	go run ./tools/cmd/probe $(PROBE_FLAGS)

build:
	mkdir -p bin
	go build -o bin/backend ./services/backend
	go build -o bin/frontend ./services/frontend

## certs: a CA (its key stays in .certs/) and the Secrets backend-tls and frontend-tls that
## k8s/tls mounts, in the current kube context's namespace (or NAMESPACE=...); ROTATE=1 issues
## new leaf certificates from the same CA, which the pods pick up without a restart.
NAMESPACE ?=
ROTATE ?=
certs:
	NAMESPACE=$(NAMESPACE) ROTATE=$(ROTATE) bash scripts/certs.sh

## cert-manager: k8s/cert-manager (the pair over mutual TLS, its Secrets issued by cert-manager)
## applied into the current kube context's namespace (or NAMESPACE=...), whose name its
## certificates carry: kubectl apply -k cannot set that (scripts/cert-manager.sh says why).
cert-manager:
	NAMESPACE=$(NAMESPACE) bash scripts/cert-manager.sh

## e2e: build the images, deploy to the current kube context and check the pair end to end.
e2e:
	bash scripts/e2e.sh

## check: everything CI runs before the e2e.
check: fmt vet staticcheck test tidy-check deps-check
