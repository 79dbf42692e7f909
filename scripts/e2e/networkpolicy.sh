# networkpolicy.sh is the NetworkPolicy section of scripts/e2e.sh, which sources it after the
# pair, the client Job and the variants are deployed in the current namespace. It shows both
# sides of every rule of k8s/base/networkpolicy.yaml, k8s/endpointslices/networkpolicy.yaml and,
# where they run, k8s/cross-namespace's and k8s/ingress's: one-shot Jobs carry the labels under
# test and run tools/cmd/reach (in the flood image), which dials pod and Service addresses and
# resolves a name through cluster DNS, all at once; every path a rule opens must be reached and
# every path it does not must be denied. A refused connection (kube-router rejects) and a
# time-out (most enforcers drop) both count as denied, and every denied address must be reached
# by another probe, so a closed port cannot pass for a policy. Then the same checks run against
# a broken copy of the policies (no DNS rule, no API server rule) in a scratch namespace, where
# they must turn to denied: a policy that silently breaks DNS or the watch fails the e2e. The
# real frontends' answers through the API server's pod proxy show their own DNS, backend and
# watch paths working under the policies. docs/networkpolicy.md has the table.
#
# Uses from scripts/e2e.sh: say, pass, fail (scripts/lib.sh), IMAGE_TAG (the flood image's tag),
# E2E_TIMEOUT, WORK, SCRATCH_NS (deleted by its cleanup), E2E_NETPOL_ENFORCED.
# An in-cluster ingress controller's own traffic is not probed: where traffic from the node
# always passes (kube-router; the lab's Traefik runs on the node), only a stand-in pod with the
# controller's labels can show its rule.
# shellcheck shell=bash
# SC2015: "test && pass || fail" is safe, pass never fails (as in scripts/e2e.sh).
# shellcheck disable=SC2015

say "NetworkPolicy: both sides of every rule, probed from pods with the labels under test (tools/cmd/reach)"
if [ "${E2E_NETPOL_ENFORCED:-}" != 1 ]; then
  printf '\n!!!!!!!! SKIPPED: the NetworkPolicy probes: set E2E_NETPOL_ENFORCED=1 on a cluster whose CNI enforces NetworkPolicies (scripts/e2e-lab.sh does) !!!!!!!!\n\n'
  return 0
fi

# NETPOL_SETTLE: reach waits this long before its first try, so the enforcer has programmed the
# probe pod, and nothing earlier is judged (on the lab a new pod's egress is open for 1-2s, and
# policy changes take up to about 5s). NETPOL_WAIT: a path that
# is not reached by then is judged denied, so an allowed path has that long to get through.
NETPOL_SETTLE=${NETPOL_SETTLE:-8s}
NETPOL_WAIT=${NETPOL_WAIT:-10s}
netpol_start=$(date +%s)
netpol_ns=$(kubectl config view --minify -o jsonpath='{..namespace}')
netpol_ns=${netpol_ns:-default}

# netpol_ip APP prints the IP of one ready, running pod labelled app=APP.
netpol_ip() {
  kubectl get pods -l "app=$1" -o json | jq -r '[.items[]
    | select(.metadata.deletionTimestamp == null)
    | select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))
    | .status.podIP][0] // empty'
}

# reach_job NAME NAMESPACE LABELS CHECK... starts a Job that runs reach with pod labels LABELS
# (a flow mapping) and CHECKs. Its readiness probe never passes, so a probe labelled like a
# workload never becomes an endpoint of that workload's Service.
reach_job() {
  local name=$1 ns=$2 labels=$3 args
  shift 3
  args=$(printf '"%s", ' -settle "$NETPOL_SETTLE" -wait "$NETPOL_WAIT" "$@")
  kubectl delete job -n "$ns" "$name" --ignore-not-found --wait=true >/dev/null
  kubectl apply -n "$ns" -f - >/dev/null <<EOF
apiVersion: batch/v1
kind: Job
metadata:
  name: $name
  labels: {e2e-probe: networkpolicy}
spec:
  backoffLimit: 0
  activeDeadlineSeconds: $((E2E_TIMEOUT))
  template:
    metadata:
      labels: $labels
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: reach
          image: flood:$IMAGE_TAG
          imagePullPolicy: IfNotPresent
          command: ["/reach"]
          args: [${args%, }]
          readinessProbe: {tcpSocket: {port: 1}, periodSeconds: 60}
          resources: {requests: {cpu: 20m, memory: 16Mi}, limits: {cpu: 200m, memory: 32Mi}}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: ["ALL"]}}
EOF
}

# reach_wait NAME NAMESPACE waits for the Job to finish, saves its log (one JSON line per check)
# in $WORK/reach-NAME.json, prints it and deletes the Job.
reach_wait() {
  local name=$1 ns=$2 deadline status
  deadline=$(($(date +%s) + E2E_TIMEOUT))
  while :; do
    status=$(kubectl get job -n "$ns" "$name" -o jsonpath='{.status.succeeded}/{.status.failed}')
    [ "$status" = / ] || [ "$status" = 0/0 ] || break
    [ "$(date +%s)" -lt "$deadline" ] || fail "probe Job $ns/$name did not finish in ${E2E_TIMEOUT}s"
    sleep 2
  done
  kubectl logs -n "$ns" "job/$name" >"$WORK/reach-$name.json" 2>&1 || true
  [ "${status%/*}" = 1 ] || fail "probe Job $ns/$name failed: $(cat "$WORK/reach-$name.json")"
  echo "--- $name ($ns):"
  jq -r '"  \(.name) \(.kind):\(.target) \(.result) after \(.tries) tries, \(.seconds)s \(.detail // "")"' "$WORK/reach-$name.json"
  kubectl delete job -n "$ns" "$name" --wait=false >/dev/null
}

# netpol_expect PROBE CHECK WANT WHY passes when PROBE's CHECK was reached (WANT reached) or
# refused or timed out (WANT denied), and counts it.
NETPOL_REACHED=0 NETPOL_DENIED=0 NETPOL_TIMEOUTS=0
netpol_expect() {
  local probe=$1 check=$2 want=$3 why=$4 got
  got=$(jq -r --arg c "$check" 'select(.name == $c) | .result' "$WORK/reach-$probe.json")
  [ -n "$got" ] || fail "probe $probe has no result for $check"
  case $want/$got in
    reached/reached) NETPOL_REACHED=$((NETPOL_REACHED + 1)) ;;
    denied/refused | denied/unreachable) NETPOL_DENIED=$((NETPOL_DENIED + 1)) ;;
    denied/timeout) NETPOL_DENIED=$((NETPOL_DENIED + 1)) NETPOL_TIMEOUTS=$((NETPOL_TIMEOUTS + 1)) ;;
    *) fail "NetworkPolicy: $probe -> $check: $got, want $want ($why)" ;;
  esac
  pass "NetworkPolicy: $probe -> $check $got ($why)"
}

BE=$(netpol_ip backend) FE=$(netpol_ip frontend) WATCH=$(netpol_ip frontend-watch)
[ -n "$BE" ] && [ -n "$FE" ] && [ -n "$WATCH" ] ||
  fail "NetworkPolicy: want ready pods of backend ($BE), frontend ($FE) and frontend-watch ($WATCH)"
BE_SVC=$(kubectl get svc backend-service -o jsonpath='{.spec.clusterIP}')
API_SVC=$(kubectl get svc -n default kubernetes -o jsonpath='{.spec.clusterIP}')
KUBE_DNS=$(kubectl get svc -n kube-system kube-dns -o jsonpath='{.spec.clusterIP}')
# k8s/cross-namespace's backend, probed where that variant runs (the e2e deployed it earlier).
REMOTE_BE=$(kubectl get pods -n svc2svc-remote -l app=backend -o json 2>/dev/null | jq -r '[.items[]
  | select(.metadata.deletionTimestamp == null and .status.podIP != null) | .status.podIP][0] // empty')
remote_check=()
[ -z "$REMOTE_BE" ] || remote_check=("remote-backend=tcp:$REMOTE_BE:8080")
# The name every pod may look up; its answer proves the UDP path to kube-dns (TCP: dns-tcp).
NAME=kubernetes.default.svc
echo "backend pod $BE, frontend pod $FE, frontend-watch pod $WATCH, backend-service $BE_SVC, kubernetes $API_SVC (API server $(kubectl get endpoints -n default kubernetes -o jsonpath='{.subsets[0].addresses[0].ip}')), kube-dns $KUBE_DNS"

# Every probe at once: each takes NETPOL_SETTLE + NETPOL_WAIT at most.
reach_job np-stranger "$netpol_ns" '{app: intruder}' \
  "backend=tcp:$BE:8080" "backend-service=tcp:$BE_SVC:80" "backend-admin=tcp:$BE:9090" \
  "frontend=tcp:$FE:8080" "frontend-admin=tcp:$FE:9090" "watch-admin=tcp:$WATCH:9090"
reach_job np-prometheus "$netpol_ns" '{app.kubernetes.io/name: prometheus}' \
  "backend-admin=tcp:$BE:9090" "frontend-admin=tcp:$FE:9090" "watch-admin=tcp:$WATCH:9090" "backend=tcp:$BE:8080"
reach_job np-frontend "$netpol_ns" '{app: frontend}' \
  "dns=dns:$NAME" "dns-tcp=tcp:$KUBE_DNS:53" "backend=tcp:$BE:8080" "backend-service=tcp:$BE_SVC:80" \
  "apiserver=tcp:$API_SVC:443" "frontend=tcp:$FE:8080" "backend-admin=tcp:$BE:9090" "${remote_check[@]}"
reach_job np-client "$netpol_ns" '{app: backend-client}' \
  "dns=dns:$NAME" "backend-service=tcp:$BE_SVC:80" "apiserver=tcp:$API_SVC:443" "frontend=tcp:$FE:8080"
reach_job np-backend "$netpol_ns" '{app: backend}' \
  "dns=dns:$NAME" "dns-tcp=tcp:$KUBE_DNS:53" "apiserver=tcp:$API_SVC:443" "frontend=tcp:$FE:8080" \
  "backend=tcp:$BE:8080"
reach_job np-watch "$netpol_ns" '{app: frontend-watch}' \
  "dns=dns:$NAME" "apiserver=tcp:$API_SVC:443" "backend=tcp:$BE:8080" "backend-service=tcp:$BE_SVC:80" \
  "frontend=tcp:$FE:8080" "frontend-admin=tcp:$FE:9090" "backend-admin=tcp:$BE:9090"
# The other frontends' labels are in the same lists: each reaches the backend and DNS, not the API server.
for app in frontend-headless frontend-envfallback; do
  reach_job "np-$app" "$netpol_ns" "{app: $app}" \
    "dns=dns:$NAME" "backend=tcp:$BE:8080" "apiserver=tcp:$API_SVC:443"
done
# k8s/cross-namespace: the backend in svc2svc-remote admits only app: frontend-remote, from any
# namespace; frontend-remote sends only there (and DNS).
if [ -n "$REMOTE_BE" ]; then
  reach_job np-frontend-remote "$netpol_ns" '{app: frontend-remote}' \
    "dns=dns:$NAME" "remote-backend=tcp:$REMOTE_BE:8080" "backend=tcp:$BE:8080" "remote-backend-admin=tcp:$REMOTE_BE:9090"
  reach_job np-remote-prometheus "$netpol_ns" '{app.kubernetes.io/name: prometheus}' \
    "remote-backend-admin=tcp:$REMOTE_BE:9090" "remote-backend=tcp:$REMOTE_BE:8080"
fi
# k8s/ingress's backend-allow-ingress-controller admits minikube's ingress-nginx (pods labelled
# app.kubernetes.io/name: ingress-nginx in namespace ingress-nginx) to the backend. The lab's
# Traefik runs on the node, whose traffic always passes, so the controller itself cannot show
# the rule; a stand-in pod with those labels in that namespace shows its selectors, and the same
# labels in this namespace are refused. The namespace is made (labelled e2e-probe, so cleanup
# removes it) only where no controller has one. The policy itself is applied for the probe where
# k8s/ingress is not (the e2e's Ingress section applies it later), and removed after.
ingress_rule='' ingress_applied=''
if [ -f k8s/ingress/networkpolicy.yaml ]; then
  ingress_rule=backend-allow-ingress-controller
  if ! kubectl get netpol "$ingress_rule" >/dev/null 2>&1; then
    kubectl apply -f k8s/ingress/networkpolicy.yaml >/dev/null
    ingress_applied=1
  fi
  if ! kubectl get namespace ingress-nginx >/dev/null 2>&1; then
    kubectl create namespace ingress-nginx >/dev/null
    kubectl label namespace ingress-nginx e2e-probe=networkpolicy >/dev/null
  fi
  reach_job np-ingress-controller ingress-nginx '{app.kubernetes.io/name: ingress-nginx}' \
    "backend=tcp:$BE:8080" "frontend=tcp:$FE:8080" "backend-admin=tcp:$BE:9090"
  reach_job np-ingress-elsewhere "$netpol_ns" '{app.kubernetes.io/name: ingress-nginx}' "backend=tcp:$BE:8080"
fi

# The broken copy: the base policies without backend-clients-allow-egress's DNS rule, and no
# frontend-watch-allow-apiserver, in a namespace with nothing else in it.
kubectl delete namespace "$SCRATCH_NS" --ignore-not-found --wait=true --timeout="${E2E_TIMEOUT}s" >/dev/null
kubectl create namespace "$SCRATCH_NS" >/dev/null
kubectl label namespace "$SCRATCH_NS" pod-security.kubernetes.io/enforce=restricted >/dev/null
kubectl create -n "$SCRATCH_NS" --dry-run=client -o json -f k8s/base/networkpolicy.yaml |
  jq 'if .metadata.name == "backend-clients-allow-egress"
    then .spec.egress |= map(select(all(.ports[]; .port != 53))) else . end' |
  kubectl apply -n "$SCRATCH_NS" -f - >/dev/null
reach_job np-broken "$SCRATCH_NS" '{app: frontend-watch}' \
  "dns=dns:$NAME" "dns-tcp=tcp:$KUBE_DNS:53" "apiserver=tcp:$API_SVC:443"

# The real pods, through the API server's pod proxy (from the node, which the policies admit).
json=$(kubectl get --raw "/api/v1/namespaces/$netpol_ns/pods/$(kubectl get pods -l app=frontend -o jsonpath='{.items[0].metadata.name}'):8080/proxy/")
jq -e '.discovery.source == "dns" and (.backend.pod | startswith("backend-deployment-"))' >/dev/null <<<"$json" &&
  pass "NetworkPolicy: a frontend pod found backend-service through DNS and reached $(jq -r .backend.pod <<<"$json") at $(jq -r .discovery.addr <<<"$json")" ||
  fail "NetworkPolicy: a frontend pod's GET / under the policies: $json"
json=$(kubectl get --raw "/api/v1/namespaces/$netpol_ns/pods/$(kubectl get pods -l app=frontend-watch -o jsonpath='{.items[0].metadata.name}'):8080/proxy/")
jq -e '.discovery.source == "endpointslices" and (.backend.pod | startswith("backend-deployment-"))' >/dev/null <<<"$json" &&
  pass "NetworkPolicy: the frontend-watch pod found a backend through its EndpointSlice watch and reached $(jq -r .backend.pod <<<"$json") at $(jq -r .discovery.addr <<<"$json")" ||
  fail "NetworkPolicy: the frontend-watch pod's GET / under the policies: $json"

probes='np-stranger np-prometheus np-frontend np-client np-backend np-watch np-frontend-headless np-frontend-envfallback'
[ -z "$REMOTE_BE" ] || probes+=' np-frontend-remote np-remote-prometheus'
for probe in $probes; do
  reach_wait "$probe" "$netpol_ns"
done
reach_wait np-broken "$SCRATCH_NS"
if [ -n "$ingress_rule" ]; then
  reach_wait np-ingress-controller ingress-nginx
  reach_wait np-ingress-elsewhere "$netpol_ns"
fi

# backend-allow-clients: only the listed callers reach the backend's 8080.
netpol_expect np-stranger backend denied "backend-allow-clients does not list app: intruder"
netpol_expect np-stranger backend-service denied "the Service address is rewritten to a backend pod, whose policy refuses"
netpol_expect np-prometheus backend denied "monitoring gets 9090 only"
netpol_expect np-frontend backend reached "backend-allow-clients lists app: frontend, and any pod may wear that label: no identity (docs/networkpolicy.md)"
netpol_expect np-frontend backend-service reached "the same through backend-service"
netpol_expect np-client backend-service reached "backend-allow-clients lists app: backend-client (the client Job)"
netpol_expect np-watch backend reached "backend-allow-clients lists app: frontend-watch"
netpol_expect np-watch backend-service reached "the same through backend-service"
# frontend-allow-ingress: anyone reaches the frontends' 8080.
netpol_expect np-stranger frontend reached "frontend-allow-ingress admits anyone on 8080"
# svc2svc-allow-monitoring: 9090 only from pods labelled app.kubernetes.io/name: prometheus.
netpol_expect np-stranger backend-admin denied "9090 is for monitoring only"
netpol_expect np-stranger frontend-admin denied "9090 is for monitoring only"
netpol_expect np-stranger watch-admin denied "9090 is for monitoring only"
netpol_expect np-prometheus backend-admin reached "svc2svc-allow-monitoring"
netpol_expect np-prometheus frontend-admin reached "svc2svc-allow-monitoring"
netpol_expect np-prometheus watch-admin reached "svc2svc-allow-monitoring"
# backend-clients-allow-egress: the backend's callers send to the backend pods and DNS, nothing else.
netpol_expect np-frontend dns reached "UDP 53 to kube-dns: $NAME resolved"
netpol_expect np-frontend dns-tcp reached "TCP 53 to kube-dns"
netpol_expect np-client dns reached "UDP 53 to kube-dns"
netpol_expect np-watch dns reached "UDP 53 to kube-dns"
netpol_expect np-frontend apiserver denied "only frontend-watch may reach the API server"
netpol_expect np-frontend frontend denied "a frontend sends to the backend and DNS only"
netpol_expect np-frontend backend-admin denied "its egress allows the backend's 8080 only"
netpol_expect np-client apiserver denied "the client Job sends to the backend and DNS only"
netpol_expect np-client frontend denied "the client Job sends to the backend and DNS only"
# svc2svc-default-deny: the backend opens no connection at all.
netpol_expect np-backend dns denied "the backend has no egress: not even DNS (UDP)"
netpol_expect np-backend dns-tcp denied "nor DNS over TCP"
netpol_expect np-backend apiserver denied "nor the API server"
netpol_expect np-backend frontend denied "nor a frontend"
netpol_expect np-backend backend denied "nor another backend"
# frontend-watch-allow-apiserver: the watch reaches the API server, and still nothing else.
netpol_expect np-watch apiserver reached "frontend-watch-allow-apiserver (kubernetes Service, rewritten to the API server)"
netpol_expect np-watch frontend denied "frontend-watch sends to the backend, DNS and the API server only"
netpol_expect np-watch frontend-admin denied "not the frontend's admin port"
netpol_expect np-watch backend-admin denied "not the backend's admin port"
for app in frontend-headless frontend-envfallback; do
  netpol_expect "np-$app" backend reached "backend-allow-clients lists app: $app"
  netpol_expect "np-$app" dns reached "backend-clients-allow-egress lists app: $app"
  netpol_expect "np-$app" apiserver denied "only frontend-watch may reach the API server"
done
if [ -n "$REMOTE_BE" ]; then
  netpol_expect np-frontend-remote remote-backend reached "svc2svc-remote's backend-allow-frontend-remote admits it from any namespace"
  netpol_expect np-frontend-remote dns reached "frontend-remote-allow-egress: kube-dns"
  netpol_expect np-frontend-remote backend denied "frontend-remote calls only svc2svc-remote, and this backend does not list it"
  netpol_expect np-frontend-remote remote-backend-admin denied "svc2svc-remote's 9090 is for monitoring only"
  netpol_expect np-remote-prometheus remote-backend-admin reached "svc2svc-remote's svc2svc-allow-monitoring, from another namespace"
  netpol_expect np-remote-prometheus remote-backend denied "monitoring gets 9090 only"
  netpol_expect np-frontend remote-backend denied "svc2svc-remote's backend admits app: frontend-remote only"
else
  echo "INFO svc2svc-remote runs no backend: k8s/cross-namespace's policies are not probed"
fi
if [ -n "$ingress_rule" ]; then
  netpol_expect np-ingress-controller backend reached "k8s/ingress's backend-allow-ingress-controller (a stand-in for ingress-nginx, in its namespace)"
  netpol_expect np-ingress-controller frontend reached "frontend-allow-ingress admits anyone on 8080"
  netpol_expect np-ingress-controller backend-admin denied "the controller gets the HTTP port only"
  netpol_expect np-ingress-elsewhere backend denied "the controller's labels outside namespace ingress-nginx are not enough"
  kubectl delete namespace -l e2e-probe=networkpolicy --wait=false >/dev/null
  [ -z "$ingress_applied" ] || kubectl delete -f k8s/ingress/networkpolicy.yaml --ignore-not-found >/dev/null
else
  echo "INFO no k8s/ingress/networkpolicy.yaml: the ingress controller's rule is not probed"
fi
# The broken copy must be noticed: the checks that passed above now fail.
netpol_expect np-broken dns denied "a policy without the DNS rule breaks DNS, and the probe sees it"
netpol_expect np-broken dns-tcp denied "and DNS over TCP"
netpol_expect np-broken apiserver denied "a policy set without frontend-watch-allow-apiserver breaks the watch, and the probe sees it"
kubectl delete namespace "$SCRATCH_NS" --wait=false >/dev/null
# A denied path proves a policy only if something answers there: every address some probe was
# refused by, another probe reached in this run.
unanswered=$(jq -rs '([.[] | select(.result != "reached") | .target] - [.[] | select(.result == "reached") | .target])
  | unique | join(" ")' "$WORK"/reach-np-*.json)
[ -z "$unanswered" ] && pass "NetworkPolicy: every address a probe was refused by, another probe reached: the policies refused, not closed ports" ||
  fail "NetworkPolicy: no probe reached $unanswered, so their refusals prove nothing"

pass "NetworkPolicy: $NETPOL_REACHED allowed paths reached, $NETPOL_DENIED denied paths refused ($NETPOL_TIMEOUTS of them by a time-out), 2 real frontends answered under the policies, in $(($(date +%s) - netpol_start))s"
