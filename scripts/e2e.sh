#!/usr/bin/env bash
# e2e.sh builds both images, deploys the pair and its extras to the CURRENT kube context and
# checks them end to end, printing a PASS or FAIL line per check. It stops at the first FAIL
# with the cluster's side of the story (pods, describe, logs) and always removes what it created.
# It deploys k8s/ the ways the README gives: kubectl kustomize renders every folder with no
# namespace but cross-namespace's; kubectl apply -n <scratch> -f k8s/, then -k, runs the pair in
# a namespace of its own; then the pair and every overlay go to namespace default, each through
# a kustomization in a temporary folder whose images: override picks this run's build.
# The images are tagged both <name>:IMAGE_TAG and <name>:latest (what k8s/*.yaml name, as after
# the README's plain docker build), and both are loaded into the cluster.
#
#   make e2e                     # = bash scripts/e2e.sh
#   bash scripts/e2e-lab.sh      # the same on this machine's kube-lab, with its loader and tools
#
# Environment:
#   IMAGE_LOADER  command that copies a local Docker image into the cluster, called once per image
#                 (default "kind load docker-image"; minikube: "minikube image load";
#                 kube-lab: ../shared/kube-lab/load, relative to the repository root)
#   NODE_IP       address where NodePorts answer (default: the first node's InternalIP)
#   IMAGE_TAG     tag of the images built (default e2e-<unix time>, so every run deploys its own build)
#   VERSION       version stamped into the binaries (default: IMAGE_TAG); the check reads it back
#   SKAFFOLD      skaffold binary (default: skaffold on PATH). Without one the skaffold checks
#                 (render of every profile, run, delete) are skipped loudly, unless
#                 E2E_REQUIRE_SKAFFOLD=1 makes that a failure.
#   E2E_TIMEOUT   seconds to wait for each rollout or Job (default 180)
#   E2E_KEEP=1    leave everything deployed at the end (debugging); the next run replaces it
#   E2E_NETPOL_ENFORCED=1  run the NetworkPolicy probes (only where the CNI enforces NetworkPolicies;
#                 scripts/e2e/networkpolicy.sh, NETPOL_SETTLE and NETPOL_WAIT tune them)
#   CERT_MANAGER_CONTROLLER  a cert-manager controller binary: k8s/cert-manager's certificates are
#                 then issued for real (without it, only validated against cert-manager's CRDs)
#   E2E_ARTIFACTS directory for the load runs' JSON and HTML plots (default: a new temporary directory)
# SC2016: the single-quoted $names are jq variables. SC2015: "test && pass || fail" is safe, pass never fails.
# shellcheck disable=SC2016,SC2015
set -Eeuo pipefail

cd "$(dirname "$0")/.."

IMAGE_LOADER=${IMAGE_LOADER:-kind load docker-image}
IMAGE_TAG=${IMAGE_TAG:-e2e-$(date +%s)}
VERSION=${VERSION:-$IMAGE_TAG}
E2E_TIMEOUT=${E2E_TIMEOUT:-180}
MAX_IMAGE_BYTES=20000000 # 20 MB, the limit the images are held to.
REMOTE_NS=svc2svc-remote
# The namespace where k8s/ is applied with -n; created and deleted by this script.
SCRATCH_NS=svc2svc-e2e-scratch
# The namespace make cert-manager applies k8s/cert-manager to (scripts/e2e/cert-manager.sh).
CM_NS=svc2svc-cert-manager
# Every kustomization in k8s/ (k8s/base/ is inside k8s/; the overlays are the rest).
KUSTOMIZATIONS='k8s k8s/client-job k8s/cross-namespace k8s/endpointslices k8s/env-fallback k8s/headless k8s/ingress k8s/observability k8s/tls k8s/mtls k8s/cert-manager k8s/statefulset k8s/debug'
# Every pod this script creates carries one of these app labels.
APPS='app in (backend,frontend,backend-client,frontend-remote,frontend-headless,frontend-watch,frontend-envfallback,flood,backend-stateful,frontend-stateful)'

START=$(date +%s)
PASSED=0
WORK=$(mktemp -d)

SAY_PREFIX=''
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
# shellcheck source=scripts/kustomize-path.sh
. scripts/kustomize-path.sh

# dump_context prints what the cluster knows about our objects, once, so a FAIL explains itself.
dump_context() {
  [ -z "${DUMPED:-}" ] || return 0
  DUMPED=1
  echo "--- context: pods, services, jobs"
  kubectl get pods -A -o wide 2>&1 || true
  kubectl get deploy,svc,endpoints,jobs,netpol -n default -o wide 2>&1 || true
  kubectl get deploy,svc,endpoints -n "$REMOTE_NS" -o wide 2>&1 || true
  kubectl get deploy,svc,endpoints -n "$SCRATCH_NS" -o wide 2>&1 || true
  local ns pod
  for ns in default "$REMOTE_NS" "$SCRATCH_NS" "$CM_NS"; do
    for pod in $(kubectl get pods -n "$ns" -l "$APPS" -o name 2>/dev/null); do
      echo "--- context: kubectl describe -n $ns $pod (last 25 lines)"
      kubectl describe -n "$ns" "$pod" 2>&1 | tail -n 25 || true
      echo "--- context: kubectl logs -n $ns $pod (last 30 lines)"
      kubectl logs -n "$ns" "$pod" --all-containers --tail=30 2>&1 || true
    done
  done
  echo "--- context: recent events in default"
  kubectl get events -n default --sort-by=.lastTimestamp 2>&1 | tail -n 20 || true
}

trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR

cleanup() {
  local rc=$?
  trap - ERR
  set +e
  if [ "${E2E_KEEP:-}" = 1 ]; then
    say "E2E_KEEP=1: leaving everything deployed (images tagged $IMAGE_TAG)"
  else
    say "cleanup"
    local dir left=''
    kubectl delete namespace "$SCRATCH_NS" "$CM_NS" --ignore-not-found --wait=false 2>&1
    kubectl delete pod flood -n default --ignore-not-found --wait=false 2>&1
    kubectl delete job -n default -l e2e-probe=networkpolicy --ignore-not-found --wait=false 2>&1
    kubectl delete namespace -l e2e-probe=networkpolicy --ignore-not-found --wait=false 2>&1
    kubectl delete secret backend-tls frontend-tls svc2svc-ingress-tls svc2svc-ca mtls-probe-anonymous mtls-probe-intruder -n default --ignore-not-found 2>&1
    kubectl delete job -n default -l e2e-probe=mtls --ignore-not-found 2>&1
    # The HTTPS section's port-forwards and load, if it stopped half-way.
    # shellcheck disable=SC2086 # one argument per process id
    [ -z "${TLS_PIDS:-}" ] || kill $TLS_PIDS 2>/dev/null
    # cert-manager's controller, if the section started one, and its CRDs (and with them the
    # Issuers and Certificates; k8s/cert-manager's other objects went with $CM_NS).
    [ -z "${CM_PID:-}" ] || kill "$CM_PID" 2>/dev/null
    kubectl delete --ignore-not-found -f scripts/testdata/cert-manager-crds.yaml 2>&1 | grep -v '^$'
    # k8s/observability is only dry-run applied: deleting it would delete the pair again.
    for dir in $KUSTOMIZATIONS; do
      [ "$dir" = k8s/observability ] || [ "$dir" = k8s/cert-manager ] && continue
      kubectl delete --ignore-not-found --wait=true --timeout=120s -k "$dir" 2>&1 | grep -v '^$'
    done
    kubectl wait --for=delete pod -n default -l "$APPS" --timeout=60s >/dev/null 2>&1
    kubectl wait --for=delete "namespace/$SCRATCH_NS" "namespace/$CM_NS" --timeout=120s >/dev/null 2>&1
    for dir in $KUSTOMIZATIONS; do
      [ "$dir" = k8s/cert-manager ] && continue # it ran in $CM_NS, checked below
      left+=$(kubectl get --ignore-not-found -o name -k "$dir" 2>&1)
    done
    left+=$(kubectl get --ignore-not-found -o name crd certificates.cert-manager.io 2>&1)
    left+=$(kubectl get pods -n default -l "$APPS" -o name 2>/dev/null)
    left+=$(kubectl get --ignore-not-found -o name namespace "$SCRATCH_NS" "$CM_NS" 2>&1)
    if [ -n "$left" ]; then
      printf 'WARN still in the cluster after cleanup:\n%s\n' "$left"
    else
      echo "cluster clean: nothing of the e2e left"
    fi
  fi
  rm -rf "$WORK"
  if [ "$rc" = 0 ]; then
    say "e2e PASSED: $PASSED checks in $(($(date +%s) - START))s"
  else
    say "e2e FAILED after $PASSED passed checks ($(($(date +%s) - START))s)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# http_get URL [CURL_ARGS...] prints the body of a 200 answer, retrying a bounded number of
# times (15 x at most 12s) while Services, endpoints and iptables rules settle.
http_get() {
  local url=$1 out code i
  shift
  for i in $(seq 1 15); do
    if out=$(curl -sS --connect-timeout 3 --max-time 10 -w '\n%{http_code}' "$@" "$url" 2>&1); then
      code=${out##*$'\n'}
      if [ "$code" = 200 ]; then
        printf '%s' "${out%$'\n'*}"
        return 0
      fi
    fi
    sleep 2
  done
  printf 'no 200 from %s after %s tries; last answer:\n%s\n' "$url" "$i" "$out" >&2
  return 1
}

# expect DESCRIPTION JSON FILTER [JQ_ARGS...] passes when the jq FILTER is true for JSON.
expect() {
  local what=$1 json=$2 filter=$3
  shift 3
  if jq -e "$@" "$filter" >/dev/null 2>&1 <<<"$json"; then
    pass "$what"
  else
    fail "$what: jq '$filter' is not true for: $json"
  fi
}

# ready_pods NAMESPACE APP prints the names, or with a third argument "ip" the IPs, of the
# ready, non-terminating pods of APP as a JSON array.
ready_pods() {
  local field='.metadata.name'
  [ "${3:-}" = ip ] && field='.status.podIP'
  kubectl get pods -n "$1" -l "app=$2" -o json | jq -c "[.items[]
    | select(.metadata.deletionTimestamp == null)
    | select(any(.status.conditions[]?; .type == \"Ready\" and .status == \"True\"))
    | $field]"
}

# await_answer FILTER [JQ ARGS...] -- GET... runs the command GET... (it prints a JSON answer)
# until jq FILTER holds for the answer or 30 s have passed, and leaves the last answer (or the
# last error) in $json for the check that follows. Why: a finished rollout is not yet the end of
# the old pods' answers (kube-proxy's rules and the frontends' pooled connections move a moment
# later), nor of a new pod's first refusals (its NetworkPolicy lands a few seconds after it
# starts: a 503 then).
await_answer() {
  local filter=$1 jq_args=() deadline=$((SECONDS + 30))
  shift
  while [ "$1" != -- ]; do
    jq_args+=("$1")
    shift
  done
  shift
  while :; do
    if json=$("$@" 2>&1); then
      jq -e "${jq_args[@]}" "$filter" >/dev/null 2>&1 <<<"$json" && return 0
    fi
    [ "$SECONDS" -lt "$deadline" ] || return 0
    sleep 2
  done
}

rollout() { # rollout NAMESPACE DEPLOYMENT
  if kubectl rollout status -n "$1" "deployment/$2" --timeout="${E2E_TIMEOUT}s"; then
    pass "rollout of $1/$2"
  else
    fail "rollout of $1/$2 did not finish in ${E2E_TIMEOUT}s"
  fi
}

# overlay DIR writes a kustomization in $WORK that builds DIR (k8s/ or one of its folders) with
# this run's images (and, for k8s/env-fallback, the cluster's kube-dns address), and prints its
# folder for kubectl apply -k. The manifests stay as they are: kustomize's images: override sets
# the tag.
overlay() {
  local src=$1 dst
  dst=$WORK/overlay-$(tr / - <<<"$src")
  mkdir -p "$dst"
  cat >"$dst/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(kustomize_path "$dst" "$src")
images:
  - name: backend
    newTag: $IMAGE_TAG
  - name: frontend
    newTag: $IMAGE_TAG
EOF
  if [ "$src" = k8s/env-fallback ]; then
    cat >>"$dst/kustomization.yaml" <<EOF
patches:
  - target:
      kind: Deployment
      name: frontend-envfallback
    patch: |-
      - op: replace
        path: /spec/template/spec/dnsConfig/nameservers
        value: ["$DNS_IP"]
EOF
  fi
  echo "$dst"
}

# namespaces prints the distinct values of the namespace: fields in the YAML on stdin, joined by
# commas (nothing when there are none).
namespaces() { sed -n 's/^[[:space:]]*namespace:[[:space:]]*//p' | sort -u | paste -sd, -; }

# ---------------------------------------------------------------------------------------------
say "prerequisites"
if ! command -v jq >/dev/null; then
  echo "jq is missing: installing it with apt-get"
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  { "${sudo[@]}" apt-get install -y jq >/dev/null 2>&1 ||
    { "${sudo[@]}" apt-get update >/dev/null && "${sudo[@]}" apt-get install -y jq >/dev/null; }; } ||
    fail "jq is required (apt-get install jq)"
fi
for tool in docker kubectl curl jq; do
  command -v "$tool" >/dev/null || fail "$tool is required but not on PATH"
done
CONTEXT=$(kubectl config current-context) || fail "no current kube context"
kubectl get --raw /readyz >/dev/null || fail "the API server of context $CONTEXT does not answer"
NODE_IP=${NODE_IP:-$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')}
DNS_IP=$(kubectl get svc -n kube-system kube-dns -o jsonpath='{.spec.clusterIP}')
[ -n "$NODE_IP" ] || fail "no node InternalIP found: set NODE_IP"
[ -n "$DNS_IP" ] || fail "no kube-system/kube-dns Service found"
# The manifests name no namespace, so kubectl puts them in the context's; the checks look in default.
ctx_ns=$(kubectl config view --minify -o jsonpath='{..namespace}')
[ -z "$ctx_ns" ] || [ "$ctx_ns" = default ] ||
  fail "context $CONTEXT uses namespace $ctx_ns; the e2e deploys to default: kubectl config set-context --current --namespace=default"
echo "context $CONTEXT, node $NODE_IP, kube-dns $DNS_IP, images *:$IMAGE_TAG, version $VERSION, loader: $IMAGE_LOADER"

# A Job's template is immutable and a namespace being deleted refuses new objects: clear what an
# interrupted earlier run may have left.
kubectl delete job backend-client -n default --ignore-not-found --wait=true >/dev/null
# The pair, or what is left of it, in default holds NodePort 30080, which the scratch namespace's
# copy needs first (seen once after an interrupted run); the run deploys its own there later.
kubectl delete -n default --ignore-not-found --wait=true -f k8s/ >/dev/null
kubectl delete pod flood -n default --ignore-not-found --wait=true >/dev/null
kubectl delete namespace "$SCRATCH_NS" "$CM_NS" --ignore-not-found --wait=false >/dev/null
kubectl wait --for=delete "namespace/$REMOTE_NS" "namespace/$SCRATCH_NS" "namespace/$CM_NS" --timeout=120s >/dev/null 2>&1 || true

# ---------------------------------------------------------------------------------------------
say "render k8s/ with kubectl kustomize (kubectl's own kustomize, no kustomize binary)"
for dir in $KUSTOMIZATIONS; do
  out=$(kubectl kustomize "$dir" 2>&1) || fail "kubectl kustomize $dir: $out"
  count=$(grep -c '^kind:' <<<"$out")
  ns=$(namespaces <<<"$out")
  if [ "$dir" = k8s/cross-namespace ]; then
    [ "$ns" = "$REMOTE_NS" ] && pass "kubectl kustomize $dir: $count objects, namespace: only $REMOTE_NS (its remote backend)" ||
      fail "kubectl kustomize $dir: namespace fields '$ns', want only $REMOTE_NS"
  else
    [ -z "$ns" ] && pass "kubectl kustomize $dir: $count objects, no namespace field" ||
      fail "kubectl kustomize $dir: hard-codes namespace '$ns'"
  fi
done
# kubectl apply -f k8s/ reads k8s/*.yaml (links into k8s/base/): the same objects as -k k8s/.
ns=$(cat k8s/*.yaml | namespaces)
by_f=$(kubectl apply --dry-run=client -o name -f k8s/ | sort | paste -sd' ' -)
by_k=$(kubectl apply --dry-run=client -o name -k k8s/ | sort | paste -sd' ' -)
[ -z "$ns" ] && [ "$by_f" = "$by_k" ] && pass "kubectl apply -f k8s/ and -k k8s/ hold the same $(wc -w <<<"$by_f") objects, no namespace field" ||
  fail "kubectl apply -f k8s/ (namespace '$ns') holds $by_f, kubectl apply -k k8s/ holds $by_k"

# ---------------------------------------------------------------------------------------------
say "build images"
for svc in backend frontend; do
  t0=$(date +%s)
  DOCKER_BUILDKIT=1 docker build -f "Dockerfile.$svc" --build-arg "VERSION=$VERSION" -t "$svc:$IMAGE_TAG" . ||
    fail "docker build of $svc"
  size=$(docker image inspect -f '{{.Size}}' "$svc:$IMAGE_TAG")
  echo "$svc:$IMAGE_TAG built in $(($(date +%s) - t0))s, $size bytes"
  if [ "$size" -le "$MAX_IMAGE_BYTES" ]; then
    pass "image $svc is $((size / 1000)) kB (limit $((MAX_IMAGE_BYTES / 1000)) kB)"
  else
    fail "image $svc is $size bytes, over the limit of $MAX_IMAGE_BYTES"
  fi
  user=$(docker image inspect -f '{{.Config.User}}' "$svc:$IMAGE_TAG")
  [ "$user" = 65532:65532 ] && pass "image $svc runs as $user" || fail "image $svc runs as '$user', want 65532:65532"
  # skaffold debug treats an image as Go only if its environment names a Go runtime variable.
  env=$(docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$svc:$IMAGE_TAG")
  grep -qx GOTRACEBACK=single <<<"$env" && pass "image $svc sets GOTRACEBACK=single, so skaffold debug recognises it as Go" ||
    fail "image $svc lacks GOTRACEBACK=single (skaffold debug would not recognise it as Go): $env"
  # kubectl apply -f k8s/ runs image "backend", that is backend:latest, as the README's docker build makes.
  docker tag "$svc:$IMAGE_TAG" "$svc:latest"
done

# The flood check's hostile client (tools/cmd/flood), built in the Go workspace.
DOCKER_BUILDKIT=1 docker build -f tools/Dockerfile.flood -t "flood:$IMAGE_TAG" . || fail "docker build of flood"

say "load images into the cluster"
read -r -a loader <<<"$IMAGE_LOADER"
for svc in backend frontend; do
  for tag in "$IMAGE_TAG" latest; do
    "${loader[@]}" "$svc:$tag" || fail "$IMAGE_LOADER $svc:$tag"
  done
done
"${loader[@]}" "flood:$IMAGE_TAG" || fail "$IMAGE_LOADER flood:$IMAGE_TAG"
pass "images loaded with: $IMAGE_LOADER"

# ---------------------------------------------------------------------------------------------
say "k8s/ in a namespace of its own: kubectl apply -n $SCRATCH_NS -f k8s/, then -k k8s/"
# Node ports belong to the cluster: the pair in $SCRATCH_NS takes 30080 until it is gone, so
# this runs before the pair goes to default.
kubectl create namespace "$SCRATCH_NS"
# Why: admission then refuses any pod of the pair that breaks the restricted Pod Security Standard.
kubectl label namespace "$SCRATCH_NS" pod-security.kubernetes.io/enforce=restricted >/dev/null
kubectl apply -n "$SCRATCH_NS" -f k8s/
rollout "$SCRATCH_NS" backend-deployment
rollout "$SCRATCH_NS" frontend-deployment
port=$(kubectl get svc -n "$SCRATCH_NS" frontend-service -o jsonpath='{.spec.ports[0].nodePort}')
json=$(http_get "http://$NODE_IP:$port/" -H 'Accept: application/json') || fail "GET the pair in $SCRATCH_NS on $NODE_IP:$port"
echo "$json"
expect "kubectl apply -n $SCRATCH_NS -f k8s/: $(kubectl get -n "$SCRATCH_NS" -f k8s/ -o name | wc -l) objects, answering from a backend pod in $SCRATCH_NS" "$json" \
  '.backend.namespace == $ns and (.backend.pod | IN($pods[])) and .discovery.source == "dns"' \
  --arg ns "$SCRATCH_NS" --argjson pods "$(ready_pods "$SCRATCH_NS" backend)"
kubectl apply -n "$SCRATCH_NS" -k "$(overlay k8s)"
rollout "$SCRATCH_NS" backend-deployment
rollout "$SCRATCH_NS" frontend-deployment
# The new pods run this run's tag: the answer must come from one of them.
tagged=$(kubectl get pods -n "$SCRATCH_NS" -l app=backend -o json | jq -c --arg img "backend:$IMAGE_TAG" '[.items[]
  | select(.metadata.deletionTimestamp == null and .spec.containers[0].image == $img) | .metadata.name]')
await_answer '.backend.pod | IN($pods[])' --argjson pods "$tagged" -- http_get "http://$NODE_IP:$port/" -H 'Accept: application/json'
echo "$json"
expect "kubectl apply -n $SCRATCH_NS -k k8s/ (images: $IMAGE_TAG): answering from a backend pod of that build in $SCRATCH_NS" "$json" \
  '.backend.namespace == $ns and (.backend.pod | IN($pods[]))' --arg ns "$SCRATCH_NS" --argjson pods "$tagged"
# frontend-service goes first, so 30080 is free for the pair in default at once; the rest of the
# namespace goes while the checks below run (cleanup waits for it).
kubectl delete -n "$SCRATCH_NS" service frontend-service --wait=true >/dev/null
kubectl delete namespace "$SCRATCH_NS" --wait=false

# ---------------------------------------------------------------------------------------------
say "deploy k8s/ to default (kubectl apply -k, images $IMAGE_TAG)"
kubectl apply -k "$(overlay k8s)"
rollout default backend-deployment
rollout default frontend-deployment

BACKEND_IP=$(kubectl get svc backend-service -o jsonpath='{.spec.clusterIP}')
NODE_PORT=$(kubectl get svc frontend-service -o jsonpath='{.spec.ports[0].nodePort}')
BACKEND_PODS=$(ready_pods default backend)
echo "backend-service $BACKEND_IP:80, backend pods $BACKEND_PODS, frontend on $NODE_IP:$NODE_PORT"
[ "$(jq length <<<"$BACKEND_PODS")" = 3 ] && pass "3 backend pods ready" || fail "want 3 ready backend pods, have $BACKEND_PODS"

say "frontend through NodePort $NODE_IP:$NODE_PORT"
URL=http://$NODE_IP:$NODE_PORT
json=$(http_get "$URL/" -H 'Accept: application/json') || fail "GET $URL/ (Accept: application/json)"
echo "$json"
expect "JSON answer comes from a backend pod" "$json" \
  '.backend.service == "backend" and (.backend.pod | IN($pods[])) and .backend.namespace == "default"
   and (.backend.pod_ip | length > 0) and (.backend.node | length > 0) and (.backend.time | length > 0)' \
  --argjson pods "$BACKEND_PODS"
expect "backend reports the version built into the image ($VERSION)" "$json" '.backend.version == $v' --arg v "$VERSION"
expect "discovery source dns, name backend-service, addr $BACKEND_IP:80" "$json" \
  '.discovery.source == "dns" and .discovery.name == "backend-service" and .discovery.addr == $addr' \
  --arg addr "$BACKEND_IP:80"
expect "attempts, latency_ms and trace_id are reported" "$json" \
  '(.attempts | type == "number" and . >= 1) and (.latency_ms | type == "number")
   and (.trace_id | type == "string" and length > 0)'

text=$(http_get "$URL/") || fail "GET $URL/ (no Accept)"
echo "$text"
grep -Eq '^pod: backend-deployment-' <<<"$text" && pass "plain text answer has a line 'pod: backend-deployment-...'" ||
  fail "plain text answer has no line 'pod: backend-deployment-...'"

ctype=$(curl -sS --max-time 10 -o /dev/null -w '%{content_type}' -H 'Accept: text/html' "$URL/") || fail "GET $URL/ (Accept: text/html)"
[[ $ctype == text/html* ]] && pass "Accept: text/html gets $ctype" || fail "Accept: text/html gets '$ctype'"

# kube-proxy writes a pod into the Service's rules a moment after the pod turns Ready (its
# iptables sync), and the last of the three turns Ready up to a probe period after the others.
await_answer '.succeeded == 60 and (.by_pod | keys | length) == 3' -- http_get "$URL/api/spread?n=60"
spread=$json
[ -n "$spread" ] || fail "GET $URL/api/spread?n=60"
echo "$spread"
expect "spread: 60 of 60 calls succeeded" "$spread" '.requested == 60 and .succeeded == 60 and .failed == 0'
expect "spread: every answer came from a ready backend pod" "$spread" \
  '[.by_pod | keys[] | IN($pods[])] | all' --argjson pods "$BACKEND_PODS"
reached=$(jq '.by_pod | keys | length' <<<"$spread")
[ "$reached" = 3 ] && pass "spread: all 3 backend pods answered through the ClusterIP" ||
  fail "spread: only $reached of 3 backend pods answered through the ClusterIP: kube-proxy picks a pod per
     connection, so the spread's fresh connections reached only these pods: $(jq -c .by_pod <<<"$spread")"

say "/metrics of a frontend pod counts the calls it made (admin port 9090, through the API server's pod proxy)"
# /metrics is served on the admin port only, which no Service exposes: the NodePort says 404.
code=$(curl -sS --max-time 10 -o "$WORK/metrics-public" -w '%{http_code}' "$URL/metrics") || fail "GET $URL/metrics"
[ "$code" = 404 ] && jq -e '.error' "$WORK/metrics-public" >/dev/null &&
  pass "GET $URL/metrics on the NodePort is a JSON 404: the metrics are not public" ||
  fail "GET $URL/metrics on the NodePort = $code $(head -c 200 "$WORK/metrics-public"), want a JSON 404"
# Inside the cluster the admin port is scraped; the API server's pod proxy reaches one pod by
# name, on 9090 for the scrapes and on 8080 for the N calls, so all reach the same pod, whose
# counters must then have moved by exactly N.
# sample FILE SERIES prints the value of SERIES (name{labels} exactly as /metrics writes it,
# labels sorted by name) in FILE, 0 when absent.
sample() { awk -v s="$2" 'index($0, s " ") == 1 {v = $2} END {printf "%d\n", v}' "$1"; }
N=20
FE_POD=$(kubectl get pods -l app=frontend -o json |
  jq -r '[.items[] | select(.metadata.deletionTimestamp == null and .status.phase == "Running")][0].metadata.name')
FE_PROXY=/api/v1/namespaces/default/pods/$FE_POD
kubectl get --raw "$FE_PROXY:9090/proxy/metrics" >"$WORK/metrics-before" || fail "scrape of $FE_POD:9090/metrics through the pod proxy failed"
for _ in $(seq "$N"); do
  kubectl get --raw "$FE_PROXY:8080/proxy/" >/dev/null || fail "GET / of $FE_POD:8080 through the pod proxy failed"
done
kubectl get --raw "$FE_PROXY:9090/proxy/metrics" >"$WORK/metrics-after" || fail "scrape of $FE_POD:9090/metrics through the pod proxy failed"
grep -q '^# TYPE http_server_requests_total counter' "$WORK/metrics-after" && grep -q '^go_goroutines ' "$WORK/metrics-after" &&
  grep -q '^http_server_connections_limit 1000$' "$WORK/metrics-after" &&
  pass "frontend $FE_POD serves /metrics in the Prometheus text format on its admin port, with its connection cap (1000)" ||
  fail "frontend /metrics is not the Prometheus text format: $(head -c 600 "$WORK/metrics-after")"
for series in 'http_server_requests_total{method="GET",route="/",status="200"}' \
  'http_server_request_duration_seconds_count{method="GET",route="/",status="200"}' \
  'http_client_calls_total{result="ok",source="dns"}' 'http_client_attempts_total{result="ok",source="dns"}'; do
  moved=$(($(sample "$WORK/metrics-after" "$series") - $(sample "$WORK/metrics-before" "$series")))
  [ "$moved" = "$N" ] && pass "frontend $series moved by $N after $N calls" ||
    fail "frontend $series moved by $moved after $N calls, want $N"
done

# ---------------------------------------------------------------------------------------------
say "flood: 10,000 idle keep-alive and 2,000 slowloris connections to the NodePort from a pod"
# Each frontend caps its connections (MAX_CONNS, 1000), shedding idle ones and those without
# whole headers first, so the flood costs it bounded memory and GET / keeps getting in. A pod
# labelled app=flood: no policy selects it, and the frontend's ingress admits anyone on 8080.
fe_restarts() {
  kubectl get pods -l app=frontend -o json |
    jq -c '[.items[] | select(.metadata.deletionTimestamp == null) | {(.metadata.name): .status.containerStatuses[0].restartCount}] | add'
}
restarts_before=$(fe_restarts)
kubectl apply -f - <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: flood
  labels:
    app: flood
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: flood
      image: flood:$IMAGE_TAG
      imagePullPolicy: IfNotPresent
      env:
        - name: FLOOD_ADDR
          value: "$NODE_IP:$NODE_PORT"
        - name: FLOOD_IDLE
          value: "10000"
        - name: FLOOD_SLOW
          value: "2000"
        - name: FLOOD_HOLD
          value: 40s
      resources:
        requests:
          cpu: 100m
          memory: 64Mi
        limits:
          cpu: "1"
          memory: 256Mi
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]
EOF
# GET / through the NodePort every half second until the flood pod is done (~45 s).
ok=0 bad=0 deadline=$(($(date +%s) + 90))
while phase=$(kubectl get pod flood -o jsonpath='{.status.phase}'); [ "$phase" = Pending ] || [ "$phase" = Running ]; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the flood pod is still $phase after 90s"
  [ "$phase" = Running ] || { sleep 1; continue; }
  code=$(curl -sS -o /dev/null --max-time 5 -w '%{http_code}' "$URL/" 2>&1) || true
  if [ "$code" = 200 ]; then ok=$((ok + 1)); else bad=$((bad + 1)) && echo "GET $URL/ during the flood: $code"; fi
  sleep 0.5
done
kubectl logs flood
[ "$phase" = Succeeded ] || fail "the flood pod ended $phase"
report=$(kubectl logs flood | tail -n 1)
expect "flood: 10000 idle keep-alive and 2000 slowloris connections opened from a pod, no dial error; at the end the frontends held at most their caps (2 x 1000)" "$report" \
  '.idle_opened == 10000 and .slow_opened == 2000 and .dial_errors == 0 and .still_open <= 2000'
[ "$bad" = 0 ] && [ "$ok" -ge 10 ] && pass "flood: GET $URL/ answered 200 all $ok times during the flood" ||
  fail "flood: GET $URL/ answered 200 $ok times and failed $bad times during the flood"
restarts_after=$(fe_restarts)
[ "$restarts_after" = "$restarts_before" ] && jq -e 'all(.[]; . == 0)' <<<"$restarts_after" >/dev/null &&
  pass "flood: the frontend pods were not restarted (restartCount $restarts_after)" ||
  fail "flood: frontend restartCount $restarts_before before, $restarts_after after the flood"
for pod in $(kubectl get pods -l app=frontend -o json | jq -r '.items[] | select(.metadata.deletionTimestamp == null) | .metadata.name'); do
  m=$(kubectl get --raw "/api/v1/namespaces/default/pods/$pod:9090/proxy/metrics") || fail "scrape of $pod:9090 failed"
  echo "$pod: $(grep -E '^(http_server_connections_(open|limit|shed_total)[{ ]|process_resident_memory_bytes |go_memstats_heap_inuse_bytes )' <<<"$m" | paste -sd' ' -)"
done
kubectl delete pod flood --wait=false >/dev/null

# ---------------------------------------------------------------------------------------------
say "client Job (k8s/client-job/)"
kubectl apply -k "$(overlay k8s/client-job)"
deadline=$(($(date +%s) + E2E_TIMEOUT))
while :; do
  succeeded=$(kubectl get job backend-client -o jsonpath='{.status.succeeded}')
  failed=$(kubectl get job backend-client -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}')
  [ "${succeeded:-0}" -ge 1 ] && break
  [ "$failed" = True ] && fail "Job backend-client failed"
  [ "$(date +%s)" -lt "$deadline" ] || fail "Job backend-client did not complete in ${E2E_TIMEOUT}s"
  sleep 2
done
pass "Job backend-client completed"
pod=$(kubectl get pods -l job-name=backend-client --field-selector=status.phase=Succeeded -o name | head -n 1)
log=$(kubectl logs "$pod")
echo "$log"
grep -Eq '^pod: backend-deployment-' <<<"$log" && pass "Job log shows a backend answer (pod: backend-deployment-...)" ||
  fail "Job log has no line 'pod: backend-deployment-...'"

# ---------------------------------------------------------------------------------------------
say "env fallback (k8s/env-fallback/: no DNS search path, so discovery falls back to env)"
kubectl apply -k "$(overlay k8s/env-fallback)"
rollout default frontend-envfallback
port=$(kubectl get svc frontend-envfallback -o jsonpath='{.spec.ports[0].nodePort}')
json=$(http_get "http://$NODE_IP:$port/" -H 'Accept: application/json') || fail "GET frontend-envfallback on $NODE_IP:$port"
echo "$json"
expect "env fallback: discovery source env, addr $BACKEND_IP:80 (BACKEND_SERVICE_SERVICE_HOST/_PORT_HTTP)" "$json" \
  '.discovery.source == "env" and .discovery.addr == $addr' --arg addr "$BACKEND_IP:80"
expect "env fallback: answer from a backend pod" "$json" '.backend.pod | IN($pods[])' --argjson pods "$BACKEND_PODS"

# ---------------------------------------------------------------------------------------------
say "cross-namespace (k8s/cross-namespace/: backend in $REMOTE_NS, frontend-remote in default)"
kubectl apply -k "$(overlay k8s/cross-namespace)"
rollout "$REMOTE_NS" backend-deployment
rollout default frontend-remote
remote_pods=$(ready_pods "$REMOTE_NS" backend)
port=$(kubectl get svc frontend-remote -o jsonpath='{.spec.ports[0].nodePort}')
json=$(http_get "http://$NODE_IP:$port/" -H 'Accept: application/json') || fail "GET frontend-remote on $NODE_IP:$port"
echo "$json"
expect "cross-namespace: discovery by FQDN backend-service.$REMOTE_NS.svc.cluster.local." "$json" \
  '.discovery.source == "dns" and .discovery.name == $fqdn' --arg fqdn "backend-service.$REMOTE_NS.svc.cluster.local."
expect "cross-namespace: answer from a backend pod in $REMOTE_NS" "$json" \
  '.backend.namespace == $ns and (.backend.pod | IN($pods[]))' --arg ns "$REMOTE_NS" --argjson pods "$remote_pods"

# ---------------------------------------------------------------------------------------------
say "headless (k8s/headless/: DNS lists the backend pods themselves)"
kubectl apply -k "$(overlay k8s/headless)"
rollout default frontend-headless
BACKEND_POD_IPS=$(ready_pods default backend ip)
port=$(kubectl get svc frontend-headless -o jsonpath='{.spec.ports[0].nodePort}')
json=$(http_get "http://$NODE_IP:$port/" -H 'Accept: application/json') || fail "GET frontend-headless on $NODE_IP:$port"
echo "$json"
expect "headless: discovery addr is a backend pod IP:8080 (pods $BACKEND_POD_IPS)" "$json" \
  '.discovery.source == "dns" and (.discovery.name | startswith("backend-headless"))
   and (.discovery.addr | (endswith(":8080") and (rtrimstr(":8080") | IN($ips[]))))' --argjson ips "$BACKEND_POD_IPS"
spread=$(http_get "http://$NODE_IP:$port/api/spread?n=60") || fail "GET frontend-headless /api/spread?n=60"
echo "$spread"
expect "headless spread: 60 of 60 calls succeeded" "$spread" '.requested == 60 and .succeeded == 60 and .failed == 0'
expect "headless spread: all 3 backend pods answered" "$spread" \
  '(.by_pod | keys | length) == 3 and ([.by_pod | keys[] | IN($pods[])] | all)' --argjson pods "$BACKEND_PODS"

# ---------------------------------------------------------------------------------------------
say "EndpointSlice watch (k8s/endpointslices/: the frontend watches backend-service's EndpointSlices)"
kubectl apply -k "$(overlay k8s/endpointslices)"
rollout default frontend-watch
sa=system:serviceaccount:default:frontend-watch
[ "$(kubectl auth can-i watch endpointslices.discovery.k8s.io -n default --as="$sa")" = yes ] &&
  [ "$(kubectl auth can-i list pods -n default --as="$sa" || true)" = no ] &&
  [ "$(kubectl auth can-i list endpointslices.discovery.k8s.io -n kube-system --as="$sa" || true)" = no ] &&
  pass "RBAC: $sa may watch endpointslices in default, and nothing else (no pods, no other namespace)" ||
  fail "RBAC: $sa should watch endpointslices in default and nothing more"
port=$(kubectl get svc frontend-watch -o jsonpath='{.spec.ports[0].nodePort}')
json=$(http_get "http://$NODE_IP:$port/" -H 'Accept: application/json') || fail "GET frontend-watch on $NODE_IP:$port"
echo "$json"
expect "watch: discovery source endpointslices, addr a backend pod IP:8080 (pods $BACKEND_POD_IPS)" "$json" \
  '.discovery.source == "endpointslices" and .discovery.name == "backend-service.default"
   and (.discovery.addr | (endswith(":8080") and (rtrimstr(":8080") | IN($ips[]))))' --argjson ips "$BACKEND_POD_IPS"
spread=$(http_get "http://$NODE_IP:$port/api/spread?n=60") || fail "GET frontend-watch /api/spread?n=60"
echo "$spread"
expect "watch spread: 60 of 60 calls succeeded, 20 per backend pod" "$spread" \
  '.requested == 60 and .succeeded == 60 and ([.by_pod[]] | length == 3 and all(. == 20)) and ([.by_pod | keys[] | IN($pods[])] | all)' \
  --argjson pods "$BACKEND_PODS"
watch_pod=$(kubectl get pods -l app=frontend-watch -o name | head -n 1)
ready=$(kubectl get --raw "/api/v1/namespaces/default/pods/${watch_pod#pod/}:9090/proxy/metrics" |
  awk '$1 == "discovery_endpointslices_ready_endpoints{service=\"backend-service\"}" { print $2 }')
[ "$ready" = 3 ] && pass "watch: /metrics (admin port, pod proxy) says discovery_endpointslices_ready_endpoints{service=\"backend-service\"} $ready" ||
  fail "watch: /metrics (admin port, pod proxy) says discovery_endpointslices_ready_endpoints{service=\"backend-service\"} '$ready', want 3"
# Into a file first: with pipefail, grep -q leaving early could fail kubectl logs on a closed pipe.
kubectl logs "$watch_pod" >"$WORK/watch.log"
grep -q '"discovery":"endpointslices"' "$WORK/watch.log" &&
  pass "watch: $watch_pod logged its EndpointSlice view: $(grep -m1 '"discovery":"endpointslices"' "$WORK/watch.log" | cut -c1-200)" ||
  fail "watch: $watch_pod logged nothing about EndpointSlices"

# ---------------------------------------------------------------------------------------------
# shellcheck source=scripts/e2e/statefulset.sh
. scripts/e2e/statefulset.sh
say "observability (k8s/observability/: the pair with tracing and Jaeger v2; server-side dry run)"
# Its Jaeger image comes from a registry, which the cluster may not reach: the API server checks
# and admits every object (and the patches on the running pair) without running them.
out=$(kubectl apply --dry-run=server -k "$(overlay k8s/observability)" 2>&1) || fail "kubectl apply --dry-run=server -k k8s/observability: $out"
echo "$out"
otel=$(kubectl kustomize k8s/observability | grep -c 'value: http://jaeger:4318')
[ "$otel" = 2 ] && pass "k8s/observability: the API server accepts its $(grep -c . <<<"$out") objects; both Deployments export to jaeger:4318" ||
  fail "k8s/observability: $otel Deployments export to jaeger:4318, want 2"

# ---------------------------------------------------------------------------------------------
say "under load: spread, a new pod, failover, rollouts, scale to 0 (scripts/e2e-load.sh)"
NODE_IP=$NODE_IP E2E_TIMEOUT=$E2E_TIMEOUT bash scripts/e2e-load.sh &&
  pass "under load (scripts/e2e-load.sh): spread, new pod, failover and rollouts without a failed request" ||
  fail "under load (scripts/e2e-load.sh): see its FAIL line above"

# ---------------------------------------------------------------------------------------------
say "rolling restart of backend and frontend under load (readyz 503 + drain delay: no call may fail)"
# rolled_out DEPLOYMENT: the controller saw the restart and only new, available pods are left
# (one kubectl call, so the load loop below keeps its pace).
rolled_out() {
  kubectl get "deployment/$1" -o json | jq -e '.status.observedGeneration >= .metadata.generation
    and .status.updatedReplicas == .spec.replicas and .status.availableReplicas == .spec.replicas
    and .status.replicas == .spec.replicas' >/dev/null
}
kubectl rollout restart deployment/backend-deployment deployment/frontend-deployment
calls=0 failed=0 settled_at=0 deadline=$(($(date +%s) + E2E_TIMEOUT))
# The load goes on 8s past the rollout: the old pods are still draining (DRAIN_DELAY 5s) then.
while [ "$settled_at" = 0 ] || [ "$(date +%s)" -lt $((settled_at + 8)) ]; do
  if [ "$settled_at" = 0 ] && rolled_out backend-deployment && rolled_out frontend-deployment; then
    settled_at=$(date +%s)
  fi
  [ "$(date +%s)" -lt "$deadline" ] || fail "rolling restart did not finish in ${E2E_TIMEOUT}s"
  # One connection per curl, so the NodePort's choice of frontend pod changes during the rollout too.
  if ! spread=$(curl -sS --connect-timeout 3 --max-time 10 "$URL/api/spread?n=10" 2>&1) ||
    ! jq -e '.requested == 10' >/dev/null 2>&1 <<<"$spread"; then
    fail "during the rolling restart, GET $URL/api/spread?n=10 failed after $calls calls: $spread"
  fi
  calls=$((calls + 10))
  failed=$((failed + $(jq .failed <<<"$spread")))
  [ "$failed" = 0 ] || fail "during the rolling restart, backend calls failed: $spread"
done
pass "rolling restart: $calls backend calls through the NodePort during and after it, none failed"

# ---------------------------------------------------------------------------------------------
say "Pod Security Standard 'restricted' (server-side dry run of the namespace label)"
for ns in default "$REMOTE_NS"; do
  out=$(kubectl label --dry-run=server --overwrite ns "$ns" pod-security.kubernetes.io/enforce=restricted 2>&1) ||
    fail "kubectl label --dry-run=server ns $ns: $out"
  echo "$out"
  if grep -qi warning <<<"$out"; then
    fail "pods in $ns violate the restricted Pod Security Standard"
  fi
  pass "every pod in $ns passes the restricted Pod Security Standard"
done
echo "INFO NetworkPolicies in default: $(kubectl get netpol -n default -o name | tr '\n' ' ')(enforced only by a CNI that supports them)"

# ---------------------------------------------------------------------------------------------
# The NetworkPolicy section, in a file of its own (E2E_NETPOL_ENFORCED=1 runs it).
# shellcheck source=scripts/e2e/networkpolicy.sh
. scripts/e2e/networkpolicy.sh

# ---------------------------------------------------------------------------------------------
# shellcheck source=scripts/e2e/ingress.sh
. scripts/e2e/ingress.sh

# ---------------------------------------------------------------------------------------------
say "HTTPS (k8s/tls/ and make certs): GET / over https://backend-service, then a certificate renewal under load"
# scripts/certs.sh makes a CA in $WORK (its key stays there) and the Secrets backend-tls and
# frontend-tls; k8s/tls replaces the pair with one that serves and calls over HTTPS.
CERTS=$WORK/certs
CERTS_DIR=$CERTS NAMESPACE=default bash scripts/certs.sh || fail "scripts/certs.sh"
# apply_pair DIR SCHEME applies DIR (k8s or k8s/tls) with this run's images, waits for both
# rollouts and for the old pods to exit, then for GET / to report SCHEME (the NodePort may still
# reach an old pod for a moment), leaving the last answer in $json. Why wait for the exit: a
# rollout counts an old pod gone as it starts to drain, but for DRAIN_DELAY it still answers,
# and an old frontend calls the new backends with the old scheme: a 502 (seen once, as the first
# request of the renewal's load).
apply_pair() {
  local old
  kubectl apply -k "$(overlay "$1")"
  rollout default backend-deployment
  rollout default frontend-deployment
  for _ in $(seq 1 "$E2E_TIMEOUT"); do
    old=$(kubectl get pods -l 'app in (backend,frontend)' -o json |
      jq -r '[.items[] | select(.metadata.deletionTimestamp != null) | .metadata.name] | join(" ")')
    [ -n "$old" ] || break
    sleep 1
  done
  [ -z "$old" ] || fail "old pods of the pair still there ${E2E_TIMEOUT}s after the rollout: $old"
  await_answer '.discovery.scheme == $s' --arg s "$2" -- http_get "$URL/" -H 'Accept: application/json'
}
apply_pair k8s/tls https
echo "$json"
expect "k8s/tls: GET / through the NodePort answers from a backend pod, called over https" "$json" \
  '.discovery.scheme == "https" and .discovery.name == "backend-service" and (.backend.pod | IN($pods[]))' \
  --argjson pods "$(ready_pods default backend)"
# The serving certificate, read from each backend pod through kubectl port-forward (the
# kubelet's stream into the pod, so no NetworkPolicy is in the way and no tool is needed in the
# distroless image), checked against the CA for the name the frontend checks.
tls_pods=$(ready_pods default backend | jq -r '.[]')
pf_pids=()
declare -A pf_port
for pod in $tls_pods; do
  kubectl port-forward "pod/$pod" 0:8080 >"$WORK/pf-$pod" 2>&1 &
  pf_pids+=($!)
done
TLS_PIDS="${pf_pids[*]}"
for pod in $tls_pods; do
  for _ in $(seq 1 50); do
    pf_port[$pod]=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$WORK/pf-$pod")
    [ -z "${pf_port[$pod]}" ] || break
    sleep 0.2
  done
  [ -n "${pf_port[$pod]}" ] || fail "kubectl port-forward pod/$pod 0:8080: $(cat "$WORK/pf-$pod")"
done
# serial POD prints the serial of the certificate POD serves on 8080, verified for backend-service.
# Nothing (not a failure) when the handshake or the verification fails.
serial() {
  { openssl s_client -connect "127.0.0.1:${pf_port[$1]}" -servername backend-service -CAfile "$CERTS/ca.crt" \
    -verify_hostname backend-service -verify_return_error </dev/null 2>/dev/null |
    openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//'; } || true
}
want_old=$(openssl x509 -noout -serial -in "$CERTS/default/backend.crt" | sed 's/^serial=//')
for pod in $tls_pods; do
  s=$(serial "$pod")
  [ "$s" = "$want_old" ] && pass "backend $pod serves certificate $s on 8080, valid for backend-service under the CA" ||
    fail "backend $pod serves '$s' on 8080 (want $want_old, verified for backend-service)"
done
# restarts APP: each pod's name and restart count.
restarts() {
  kubectl get pods -l "app=$1" -o json | jq -c '[.items[] | select(.metadata.deletionTimestamp == null)
    | {(.metadata.name): ([.status.containerStatuses[].restartCount] | add)}] | add'
}
before="$(restarts backend) $(restarts frontend)"

# A renewal under load: new leaf certificates from the same CA while the harness sends
# $TLS_RATE/s through the NodePort. The kubelet updates the mounted Secret within its sync period
# (about a minute, plus jitter) and the backend re-reads it within TLS_RELOAD_INTERVAL (5s); the
# load runs long enough to cover both. No request may fail and no pod may restart.
TLS_RATE=${TLS_RATE:-100}
TLS_LOAD_S=${TLS_LOAD_S:-110}
go build -o "$WORK/load" ./tools/cmd/load || fail "go build ./tools/cmd/load"
"$WORK/load" -target "$URL" -rate "$TLS_RATE" -duration "${TLS_LOAD_S}s" -max-errors 0 -title "certificate renewal under load" \
  -mark "5s=make certs ROTATE=1" -json "$WORK/tls-rotate.json" >"$WORK/tls-rotate.txt" 2>&1 &
load_pid=$!
TLS_PIDS="${pf_pids[*]} $load_pid"
load_start=$(date +%s.%N)
sleep 5
t0=$(date +%s.%N)
CERTS_DIR=$CERTS NAMESPACE=default ROTATE=1 bash scripts/certs.sh || fail "scripts/certs.sh with ROTATE=1"
want_new=$(openssl x509 -noout -serial -in "$CERTS/default/backend.crt" | sed 's/^serial=//')
[ "$want_new" != "$want_old" ] || fail "ROTATE=1 kept serial $want_old"
declare -A seen_at
while :; do
  now=$(awk -v n="$(date +%s.%N)" -v s="$t0" 'BEGIN { printf "%.1f", n - s }')
  left=0
  for pod in $tls_pods; do
    [ -z "${seen_at[$pod]:-}" ] || continue
    if [ "$(serial "$pod")" = "$want_new" ]; then seen_at[$pod]=$now; else left=$((left + 1)); fi
  done
  [ "$left" = 0 ] && break
  awk -v n="$now" 'BEGIN { exit !(n < 150) }' || fail "certificate renewal: after ${now}s $left backend pod(s) still serve $want_old, not $want_new"
  sleep 1
done
last=0
for pod in $tls_pods; do
  echo "$pod serves $want_new ${seen_at[$pod]}s after make certs ROTATE=1"
  last=$(awk -v a="$last" -v b="${seen_at[$pod]}" 'BEGIN { print (b > a) ? b : a }')
done
kill "${pf_pids[@]}" 2>/dev/null || true
wait "$load_pid" || fail "certificate renewal under load: failed requests: $(cat "$WORK/tls-rotate.txt")"
TLS_PIDS=
cat "$WORK/tls-rotate.txt"
covered=$(awk -v s="$load_start" -v t="$t0" -v l="$last" -v d="$TLS_LOAD_S" 'BEGIN { print (t - s + l <= d) ? "yes" : "no" }')
[ "$covered" = yes ] || fail "certificate renewal: the last pod changed certificate ${last}s after make certs, after the ${TLS_LOAD_S}s load ended: raise TLS_LOAD_S"
after="$(restarts backend) $(restarts frontend)"
[ "$after" = "$before" ] || fail "certificate renewal: pods changed or restarted: before $before, after $after"
jq -e '.requests > 0 and .succeeded == .requests' "$WORK/tls-rotate.json" >/dev/null ||
  fail "certificate renewal under load: $(jq -c '{requests, succeeded, status_codes}' "$WORK/tls-rotate.json")"
pass "certificate renewal: every backend pod served the new certificate ($want_old -> $want_new) at most ${last}s after make certs ROTATE=1; $(jq .requests "$WORK/tls-rotate.json") requests at ${TLS_RATE}/s during it, none failed; no pod restarted: $after"
# Each pod said so: a log line with both serials, and the reload counted on its admin port.
for pod in $tls_pods; do
  kubectl logs "$pod" | grep '"msg":"tls files reloaded"' | grep -q "\"serial\":\"$want_new\"" ||
    fail "backend $pod logged no 'tls files reloaded' line with serial $want_new"
  kubectl get --raw "/api/v1/namespaces/default/pods/$pod:9090/proxy/metrics" >"$WORK/reload-metrics" ||
    fail "scrape of $pod:9090/metrics through the pod proxy failed"
  n=$(sample "$WORK/reload-metrics" 'tls_reloads_total{dir="/etc/svc2svc/tls",result="reloaded"}')
  [ "$n" -ge 1 ] || fail "backend $pod: tls_reloads_total{result=\"reloaded\"} is $n after the renewal"
done
pass "every backend pod logged 'tls files reloaded' with serial $want_new and counts it in tls_reloads_total"

# shellcheck source=scripts/e2e/mtls.sh
. scripts/e2e/mtls.sh
# shellcheck source=scripts/e2e/cert-manager.sh
. scripts/e2e/cert-manager.sh

# Back to the plain pair, which the rest expects: kubectl apply drops the fields k8s/tls added.
apply_pair k8s http
expect "k8s/ restored: GET / through the NodePort calls the backend over http again" "$json" '.discovery.scheme == "http"'
kubectl delete secret backend-tls frontend-tls svc2svc-ca --ignore-not-found

# ---------------------------------------------------------------------------------------------
SKAFFOLD=${SKAFFOLD:-$(command -v skaffold || true)}
if [ -z "$SKAFFOLD" ]; then
  [ -z "${E2E_REQUIRE_SKAFFOLD:-}" ] || fail "skaffold is not on PATH (or SKAFFOLD) and E2E_REQUIRE_SKAFFOLD is set"
  printf '\n!!!!!!!! SKIPPED: skaffold run / skaffold delete: no skaffold on PATH (set SKAFFOLD=...; E2E_REQUIRE_SKAFFOLD=1 makes this a failure) !!!!!!!!\n\n'
else
  say "skaffold render: the default and every profile, without a build"
  "$SKAFFOLD" version
  echo "INFO skaffold renders with: $(command -v kustomize || echo 'kubectl kustomize (no kustomize binary on PATH)')"
  objects() { grep -c '^kind:' || true; }
  pair=$(kubectl kustomize k8s | objects)
  for profile in '' observability tls mtls debug cross-namespace endpointslices env-fallback headless ingress statefulset; do
    args=(--digest-source=none --offline=true)
    if [ -n "$profile" ]; then args+=(-p "$profile"); fi
    out=$("$SKAFFOLD" render "${args[@]}" 2>&1) || fail "skaffold render ${args[*]}: $out"
    # observability, tls, mtls and debug replace the pair; every other profile adds its overlay to it.
    case $profile in
      '') want=$pair ;;
      observability | tls | mtls | debug) want=$(kubectl kustomize "k8s/$profile" | objects) ;;
      *) want=$((pair + $(kubectl kustomize "k8s/$profile" | objects))) ;;
    esac
    have=$(objects <<<"$out")
    [ "$have" = "$want" ] && pass "skaffold render ${profile:+-p $profile }renders $have objects, as kubectl kustomize does" ||
      fail "skaffold render ${args[*]} renders $have objects, want $want: $out"
  done

  say "skaffold run (replaces the k8s/ objects with skaffold's own build)"
  sk_version=$VERSION-skaffold
  VERSION=$sk_version "$SKAFFOLD" run --kube-context "$CONTEXT" --status-check=true --tail=false ||
    fail "skaffold run"
  pass "skaffold run"
  for i in $(seq 1 15); do
    json=$(http_get "$URL/" -H 'Accept: application/json') || fail "GET $URL/ after skaffold run"
    jq -e '.backend.version == $v' --arg v "$sk_version" >/dev/null <<<"$json" && break
    sleep 2
  done
  echo "$json"
  expect "after skaffold run the frontend answers from a backend built by skaffold ($sk_version)" "$json" \
    '.backend.version == $v and .discovery.source == "dns"' --arg v "$sk_version"
  say "skaffold delete"
  "$SKAFFOLD" delete --kube-context "$CONTEXT" || fail "skaffold delete"
  # Exactly the objects of k8s/ (the variants applied earlier stay until the cleanup).
  left=$(kubectl kustomize k8s | kubectl get -n default --ignore-not-found -o name -f - 2>&1 || true)
  [ -z "$left" ] && pass "skaffold delete removed the k8s/ objects" || fail "left after skaffold delete: $left"
fi
