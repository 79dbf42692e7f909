#!/usr/bin/env bash
# e2e-load.sh proves the pair under a constant load, with the load harness
# (tools/cmd/load, vegeta): every run prints the harness's summary (requests, success
# ratio, latency percentiles, answers per backend pod) and fails on a single failed request.
#
#   1. Even spread despite keep-alive: 3,000 GET / at 100/s through
#      (a) the ClusterIP frontend with CLIENT_MAX_CONN_AGE=-1s (before), (b) the same with the
#      default max connection age (after), then, side by side over the same 30 s, (c) the headless
#      frontend (pod IPs from DNS) and (d) the watching frontend (pod IPs from the EndpointSlices);
#      busiest pod / quietest pod is reported for each, and (c) and (d) must stay within
#      SPREAD_MAX (1.25). Then the backend is scaled to 4 under load on (c) and (d): the watching
#      frontend must send the new pod traffic within the 30 s goal, the headless one within what
#      DNS caching allows (the cluster DNS's cache + DISCOVERY_TTL; whether that met the goal is
#      reported); then back to 3, under load on both too.
#   2. Zero-error failover under 100/s through the NodePort frontend: the busiest backend pod
#      deleted, a rolling restart of the backend, then of the frontend (2 replicas); the backend
#      scaled to 0 (the frontend answers 503 with a JSON reason within its 3 s deadline, to single
#      calls and to every request of 5 s of load) and back to 3 (success again within RECOVERY_MAX_S, 10 s,
#      with the same frontend pods, none restarted).
#
# Artifacts: NAME.json and NAME.html (the harness's -json and -plot) and NAME.txt (its summary)
# for every run, and summary.txt with the tables (spread before/after, failover).
#
# It needs the pair (k8s/), k8s/headless/ and k8s/endpointslices/ deployed, and leaves them as it found them: backend
# 3 replicas, frontend-deployment with its replicas and without CLIENT_MAX_CONN_AGE. scripts/e2e.sh
# calls it; by hand: E2E_KEEP=1 bash scripts/e2e-lab.sh, then
#   KUBECONFIG=/var/lib/kube-lab/kubeconfig bash scripts/e2e-load.sh
#
# Environment:
#   NODE_IP        where the NodePorts answer (default: the first node's InternalIP)
#   E2E_ARTIFACTS  directory for each run's JSON (-json), plot (-plot, HTML) and summary
#                  (default: a new temporary directory; the path is printed)
#   E2E_TIMEOUT    seconds to wait for each rollout (default 180)
#   LOAD_RATE      requests per second of every run (default 100)
#   NEW_POD_MAX_S  bound on "new pod Ready -> first answer from it" (default: the cluster DNS's
#                  cache time, read from CoreDNS's Corefile, + DISCOVERY_TTL + 3 s of measurement
#                  granularity; 38 s with kubeadm's and kind's CoreDNS, which cache 30 s).
#                  NEW_POD_MAX_S=30 holds the check to the 30 s goal (fails when the DNS cache
#                  happens to hold the old answer for more than about 25 s of it).
# SC2016: the single-quoted $names are jq variables. SC2015: "test && pass || fail" is safe, pass never fails.
# shellcheck disable=SC2016,SC2015
set -Eeuo pipefail

cd "$(dirname "$0")/.."

E2E_TIMEOUT=${E2E_TIMEOUT:-180}
RATE=${LOAD_RATE:-100}
SPREAD_REQUESTS=3000 # per spread measurement: 30 s at 100/s
SPREAD_MAX=1.25      # busiest / quietest backend pod, for the fixed path
NEW_POD_TARGET_S=30  # the goal: a new backend pod gets traffic within this long of becoming Ready
WINDOW_S=2           # length of each short load window while waiting for the new pod
DEADLINE_S=3         # the frontend's CLIENT_TIMEOUT: a failed call is answered within it
RECOVERY_MAX_S=10    # from "scale back to 3" to the first 200
CLIENT_TIMEOUT_MARGIN_S=0.5 # curl's own overhead over the frontend's deadline

START=$(date +%s)
PASSED=0
WORK=$(mktemp -d)
ART=${E2E_ARTIFACTS:-$(mktemp -d -t e2e-load.XXXXXX)}
mkdir -p "$ART"
ART=$(cd "$ART" && pwd)
SUMMARY=$ART/summary.txt
: >"$SUMMARY"

SAY_PREFIX='load '
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
# note records a line of the final summary and prints it.
note() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }

# dump_context prints the pods and the last log lines of the pair, once, so a FAIL explains itself.
dump_context() {
  [ -z "${DUMPED:-}" ] || return 0
  DUMPED=1
  echo "--- context: pods"
  kubectl get pods -n default -o wide -l 'app in (backend,frontend,frontend-headless,frontend-watch)' 2>&1 || true
  local pod
  for pod in $(kubectl get pods -n default -l 'app in (backend,frontend,frontend-headless,frontend-watch)' -o name 2>/dev/null); do
    echo "--- context: kubectl logs $pod (last 20 lines)"
    kubectl logs "$pod" --tail=20 2>&1 || true
  done
  echo "--- context: recent events"
  kubectl get events -n default --sort-by=.lastTimestamp 2>&1 | tail -n 15 || true
  echo "--- artifacts (each run's JSON, with every non-2xx answer, and its plot): $ART"
}

trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR

# cleanup puts back, without waiting, what a failed run may have changed.
cleanup() {
  local rc=$?
  trap - ERR
  set +e
  if [ "$rc" != 0 ] && [ -n "${FRONTEND_REPLICAS:-}" ]; then
    echo "restoring: backend 3 replicas, frontend $FRONTEND_REPLICAS without CLIENT_MAX_CONN_AGE"
    kubectl set env deployment/frontend-deployment CLIENT_MAX_CONN_AGE- >/dev/null 2>&1
    kubectl scale deployment/frontend-deployment --replicas="$FRONTEND_REPLICAS" >/dev/null 2>&1
    kubectl scale deployment/backend-deployment --replicas=3 >/dev/null 2>&1
  fi
  rm -rf "$WORK"
  echo "artifacts: $ART"
  if [ "$rc" = 0 ]; then
    say "load checks PASSED: $PASSED checks in $(($(date +%s) - START))s"
  else
    say "load checks FAILED after $PASSED passed checks ($(($(date +%s) - START))s)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# pods APP prints the names of APP's pods that are not being deleted, as a sorted JSON array.
pods() {
  kubectl get pods -n default -l "app=$1" -o json |
    jq -c '[.items[] | select(.metadata.deletionTimestamp == null) | .metadata.name] | sort'
}

# pod_refs JSON_ARRAY prints "pod/a pod/b ..." for kubectl.
pod_refs() { jq -r 'map("pod/" + .) | join(" ")' <<<"$1"; }

# settle DEPLOYMENT OLD_PODS waits for the rollout and for the old pods to be gone, so that only
# the new pods take traffic from then on.
settle() {
  kubectl rollout status "deployment/$1" --timeout="${E2E_TIMEOUT}s" >/dev/null ||
    fail "rollout of $1 did not finish in ${E2E_TIMEOUT}s"
  # shellcheck disable=SC2046 # one argument per pod
  kubectl wait --for=delete $(pod_refs "$2") --timeout=60s >/dev/null ||
    fail "the old pods of $1 were not gone 60s after its rollout: $2"
}

# load NAME TITLE URL DURATION [HARNESS_FLAGS...] runs the harness at RATE against URL, prints
# its summary and keeps NAME.json, NAME.html (plot) and NAME.txt in the artifacts. One failed
# request, or an -event command that failed, fails the check.
load() {
  load_bg "$@"
  load_wait "$1" "$2" "$BG"
}

# load_bg NAME TITLE URL DURATION [HARNESS_FLAGS...] starts the same run in the background and
# sets BG to its process id, for load_wait: two frontends measured over the same seconds.
load_bg() {
  local name=$1 title=$2 url=$3 duration=$4
  shift 4
  "$LOAD" -target "$url" -rate "$RATE" -duration "$duration" -max-errors 0 -event-timeout 90s \
    -title "$title" -json "$ART/$name.json" -plot "$ART/$name.html" "$@" >"$ART/$name.txt" 2>"$ART/$name.stderr" &
  BG=$!
}

# load_wait NAME TITLE PID waits for the run load_bg started, prints its summary and checks it.
load_wait() {
  local name=$1 title=$2
  if ! wait "$3"; then
    cat "$ART/$name.txt" "$ART/$name.stderr"
    fail "$title: the harness reported failures (summary above; every non-2xx answer in $ART/$name.json)"
  fi
  cat "$ART/$name.txt"
  pass "$title: $(jq -r '"\(.succeeded)/\(.requests) 2xx, p99 \(.latency_ms.p99)ms, max \(.latency_ms.max)ms"' "$ART/$name.json")"
}

# event_within NAME SLACK_S checks that every -event command of run NAME finished at least
# SLACK_S seconds before the load stopped, so the whole disruption happened under load.
event_within() {
  local name=$1 slack=$2 dur
  dur=$(jq -r '.duration' "$ART/$name.json")
  jq -e --argjson slack "$slack" '(.duration | rtrimstr("s") | tonumber) as $d
    | [.events[] | select(.command != null) | (.at_ms + .duration_ms) / 1000 <= $d - $slack] | all' \
    "$ART/$name.json" >/dev/null &&
    pass "$name: the disruption ended $(jq -r '[.events[] | select(.command != null) | (.at_ms + .duration_ms) / 1000] | max | . * 10 | round / 10' "$ART/$name.json")s into the ${dur} of load (>= ${slack}s before its end)" ||
    fail "$name: an -event command ran into the last ${slack}s of the load (or past it): make the run longer: $(jq -c '.events' "$ART/$name.json")"
}

# spread NAME PODS prints "busiest quietest ratio" of run NAME over the pods PODS (a JSON array;
# a pod that answered nothing counts 0 and makes the ratio "inf").
spread() {
  jq -r --argjson pods "$2" '[$pods[] as $p | .by_pod[$p] // 0] as $c | ($c | max) as $hi | ($c | min) as $lo
    | "\($hi) \($lo) \(if $lo > 0 then ($hi / $lo * 100 | round) / 100 else "inf" end)"' "$ART/$1.json"
}

# by_pod NAME prints run NAME's answers per pod on one line.
by_pod() { jq -r '.by_pod | to_entries | sort_by(-.value) | map("\(.key) \(.value)") | join(", ")' "$ART/$1.json"; }

# epoch TIME prints an RFC 3339 time as seconds since 1970 with a fraction.
epoch() { date -d "$1" +%s.%N; }

# ---------------------------------------------------------------------------------------------
say "prerequisites"
for tool in go kubectl curl jq; do
  command -v "$tool" >/dev/null || fail "$tool is required but not on PATH"
done
NODE_IP=${NODE_IP:-$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')}
[ -n "$NODE_IP" ] || fail "no node InternalIP found: set NODE_IP"
URL=http://$NODE_IP:$(kubectl get svc frontend-service -o jsonpath='{.spec.ports[0].nodePort}')
HEADLESS_URL=http://$NODE_IP:$(kubectl get svc frontend-headless -o jsonpath='{.spec.ports[0].nodePort}')
WATCH_URL=http://$NODE_IP:$(kubectl get svc frontend-watch -o jsonpath='{.spec.ports[0].nodePort}')
LOAD=$WORK/load
go build -o "$LOAD" ./tools/cmd/load || fail "go build ./tools/cmd/load"
FRONTEND_REPLICAS=$(kubectl get deployment frontend-deployment -o jsonpath='{.spec.replicas}')
[ "$(kubectl get deployment backend-deployment -o jsonpath='{.status.readyReplicas}')" = 3 ] ||
  fail "want 3 ready backend replicas to start with"
echo "frontend $URL ($FRONTEND_REPLICAS replicas), headless frontend $HEADLESS_URL, watching frontend $WATCH_URL, $RATE requests/s"
echo "artifacts (JSON, plot and summary of every run): $ART"
SPREAD_DURATION=$((SPREAD_REQUESTS / RATE))s

# The disruptions that the harness runs as -event commands. Each is a command on PATH with a
# short name, because the harness labels an event's mark on the plot with its command line. Each
# returns once the disruption is over (pods gone, rollout done), so a check can tell that all of
# it happened under load.
mkdir -p "$WORK/bin"
export PATH=$WORK/bin:$PATH LOAD_URL=$URL
# scale-backend-to N: scale the backend and wait until the pods it removes are gone.
cat >"$WORK/bin/scale-backend-to" <<'SCRIPT'
#!/usr/bin/env bash
set -euo pipefail
kubectl scale deployment/backend-deployment --replicas="$1"
sleep 1
gone=$(kubectl get pods -l app=backend -o json |
  jq -r '.items[] | select(.metadata.deletionTimestamp) | "pod/" + .metadata.name')
# shellcheck disable=SC2086 # one argument per pod
[ -z "$gone" ] || kubectl wait --for=delete --timeout=60s $gone
SCRIPT
# rollout-restart DEPLOYMENT: restart it and wait for the rollout and for the old pods to be gone.
cat >"$WORK/bin/rollout-restart" <<'SCRIPT'
#!/usr/bin/env bash
set -euo pipefail
app=$(kubectl get deployment "$1" -o jsonpath='{.spec.selector.matchLabels.app}')
old=$(kubectl get pods -l "app=$app" -o name)
kubectl rollout restart "deployment/$1"
kubectl rollout status "deployment/$1" --timeout=90s
# shellcheck disable=SC2086 # one argument per pod
kubectl wait --for=delete --timeout=60s $old
SCRIPT
# delete-busiest-backend-pod: delete the backend pod the load reaches most at that moment (through
# a ClusterIP the frontends' kept-alive connections lead to one or two pods; losing an idle one
# would prove nothing). It reads each backend's request counter twice, 1 s apart, through the API
# server's pod proxy, or asks the frontend which pod answers if that proxy is refused.
cat >"$WORK/bin/delete-busiest-backend-pod" <<'SCRIPT'
#!/usr/bin/env bash
set -euo pipefail
served() { # served POD prints the GET / requests POD has answered
  kubectl get --raw "/api/v1/namespaces/default/pods/$1:9090/proxy/metrics" |
    awk '$1 ~ /^http_server_requests_total\{/ && $1 ~ /route="\/"/ { n += $2 } END { printf "%d\n", n }'
}
pods=$(kubectl get pods -l app=backend -o json |
  jq -r '.items[] | select(.metadata.deletionTimestamp == null) | .metadata.name')
victim='' most=-1 proxied=yes
declare -A before
for p in $pods; do before[$p]=$(served "$p") || { proxied=no; break; }; done
if [ "$proxied" = yes ]; then
  sleep 1
  for p in $pods; do
    n=$(($(served "$p") - before[$p]))
    echo "$p answered $n requests in the last second"
    if [ "$n" -gt "$most" ]; then victim=$p most=$n; fi
  done
else
  echo "the pod proxy is refused: asking the frontend which pod answers"
  victim=$(curl -sS --max-time 5 -H 'Accept: application/json' "$LOAD_URL/" | jq -r .backend.pod)
fi
echo "deleting $victim"
kubectl delete pod "$victim" --timeout=60s
kubectl rollout status deployment/backend-deployment --timeout=60s
SCRIPT
chmod +x "$WORK/bin/"*

# ---------------------------------------------------------------------------------------------
say "1a. spread before: ClusterIP frontend, 1 replica, CLIENT_MAX_CONN_AGE=-1s (connections kept forever)"
old=$(pods frontend)
kubectl scale deployment/frontend-deployment --replicas=1 >/dev/null
kubectl set env deployment/frontend-deployment CLIENT_MAX_CONN_AGE=-1s >/dev/null
settle frontend-deployment "$old"
fe=$(pods frontend)
age=$(kubectl get pod "$(jq -r '.[0]' <<<"$fe")" -o json |
  jq -r '.spec.containers[0].env[] | select(.name == "CLIENT_MAX_CONN_AGE") | .value')
[ "$(jq length <<<"$fe")" = 1 ] && [ "$age" = -1s ] && pass "one frontend pod $fe, with CLIENT_MAX_CONN_AGE=-1s" ||
  fail "want one frontend pod with CLIENT_MAX_CONN_AGE=-1s, have $fe with '$age'"
BACKENDS=$(pods backend)
load spread-a-before "spread (a) ClusterIP, CLIENT_MAX_CONN_AGE=-1s" "$URL" "$SPREAD_DURATION"
read -r hi_a lo_a ratio_a <<<"$(spread spread-a-before "$BACKENDS")"

say "1b. spread after: ClusterIP frontend, 1 replica, default CLIENT_MAX_CONN_AGE (30s)"
old=$fe
kubectl set env deployment/frontend-deployment CLIENT_MAX_CONN_AGE- >/dev/null
settle frontend-deployment "$old"
fe=$(pods frontend)
[ "$(kubectl get deployment frontend-deployment -o json | jq '[.spec.template.spec.containers[0].env[] | select(.name == "CLIENT_MAX_CONN_AGE")] | length')" = 0 ] &&
  pass "frontend pod $fe runs with the default CLIENT_MAX_CONN_AGE again" || fail "CLIENT_MAX_CONN_AGE is still set"
load spread-b-after "spread (b) ClusterIP, CLIENT_MAX_CONN_AGE default 30s" "$URL" "$SPREAD_DURATION"
read -r hi_b lo_b ratio_b <<<"$(spread spread-b-after "$BACKENDS")"

say "1c. spread after: client-side balancing over the pod IPs, found by DNS (headless) and by the EndpointSlice watch, side by side"
load_bg spread-c-headless "spread (c) headless, client-side balancing" "$HEADLESS_URL" "$SPREAD_DURATION"
bg_c=$BG
load_bg spread-d-watch "spread (d) EndpointSlice watch, client-side balancing" "$WATCH_URL" "$SPREAD_DURATION"
bg_d=$BG
load_wait spread-c-headless "spread (c) headless, client-side balancing" "$bg_c"
load_wait spread-d-watch "spread (d) EndpointSlice watch, client-side balancing" "$bg_d"
read -r hi_c lo_c ratio_c <<<"$(spread spread-c-headless "$BACKENDS")"
read -r hi_d lo_d ratio_d <<<"$(spread spread-d-watch "$BACKENDS")"

note ""
note "spread of $SPREAD_REQUESTS GET / at $RATE/s over the 3 backend pods (target: busiest <= $SPREAD_MAX x quietest)"
note "| path | busiest pod | quietest pod | busiest/quietest | meets $SPREAD_MAX |"
note "| --- | --- | --- | --- | --- |"
# meets RATIO: the ratio is within SPREAD_MAX.
meets() { [ "$1" != inf ] && awk -v r="$1" -v m="$SPREAD_MAX" 'BEGIN { exit !(r <= m) }'; }
spread_row() { # spread_row LABEL BUSIEST QUIETEST RATIO
  local ok=no
  meets "$4" && ok=yes
  note "| $1 | $2 | $3 | $4 | $ok |"
}
spread_row "(a) before: ClusterIP, CLIENT_MAX_CONN_AGE=-1s" "$hi_a" "$lo_a" "$ratio_a"
spread_row "(b) after: ClusterIP, CLIENT_MAX_CONN_AGE=30s (default)" "$hi_b" "$lo_b" "$ratio_b"
spread_row "(c) after: headless Service (DNS), client-side balancing" "$hi_c" "$lo_c" "$ratio_c"
spread_row "(d) after: EndpointSlice watch, client-side balancing" "$hi_d" "$lo_d" "$ratio_d"
meets "$ratio_c" &&
  pass "headless frontend: busiest/quietest backend pod = $ratio_c <= $SPREAD_MAX ($(by_pod spread-c-headless))" ||
  fail "headless frontend: busiest/quietest backend pod = $ratio_c > $SPREAD_MAX ($(by_pod spread-c-headless))"
meets "$ratio_d" &&
  pass "watching frontend: busiest/quietest backend pod = $ratio_d <= $SPREAD_MAX ($(by_pod spread-d-watch))" ||
  fail "watching frontend: busiest/quietest backend pod = $ratio_d > $SPREAD_MAX ($(by_pod spread-d-watch))"

# ---------------------------------------------------------------------------------------------
say "1d. scale the backend to 4 under load on the headless and the watching frontend: the new pod gets traffic"
# How long the new pod can stay unknown to the headless frontend: it sees the pod only once cluster
# DNS lists it, and CoreDNS answers from its cache for min(the kubernetes plugin's ttl (default 5 s),
# the cache plugin's limit) seconds; then discovery reuses an answer for DISCOVERY_TTL. The bound
# adds the window (the first answer is known to within one) and the 1 s rounding of Ready's time.
# The watching frontend hears of the pod from the API server as soon as it is Ready: it is held to
# the 30 s goal itself (NEW_POD_TARGET_S), and in practice gets there within a window or two.
corefile=$(kubectl get configmap -n kube-system coredns -o jsonpath='{.data.Corefile}' 2>/dev/null || true)
dns_cache=$(awk '/^[[:space:]]*kubernetes[[:space:]]/ { k = 1 } k && $1 == "ttl" { ttl = $2 } k && /}/ { k = 0 }
  $1 == "cache" { cache = ($2 ~ /^[0-9]+$/) ? $2 : 3600; seen = 1 }
  END { if (ttl == "") ttl = 5; if (!seen) print 0; else print (ttl < cache ? ttl : cache) }' <<<"$corefile")
[ -n "$corefile" ] || dns_cache=30 # not CoreDNS, or not readable: assume kubeadm's 30 s
discovery_ttl=$(kubectl get deployment frontend-headless -o json |
  jq -r '[.spec.template.spec.containers[0].env[]? | select(.name == "DISCOVERY_TTL") | .value][0] // "5s"')
discovery_ttl_s=$(awk -v t="$discovery_ttl" 'BEGIN { v = t + 0; if (t ~ /ms$/) v /= 1000; else if (t ~ /m$/) v *= 60; print v }')
NEW_POD_MAX_S=${NEW_POD_MAX_S:-$(awk -v a="$dns_cache" -v b="$discovery_ttl_s" -v w="$WINDOW_S" 'BEGIN { print a + b + w + 1 }')}
# Room for the pod to start (well under 20 s here) on top of the bound; each window is 2 s of load.
max_windows=$(awk -v m="$NEW_POD_MAX_S" -v w="$WINDOW_S" 'BEGIN { printf "%d", (m + 20) / w + 1 }')
echo "cluster DNS caches answers ${dns_cache}s, the headless frontend's DISCOVERY_TTL is $discovery_ttl:" \
  "headless bound ${NEW_POD_MAX_S}s after Ready, watching frontend bound ${NEW_POD_TARGET_S}s (the goal)," \
  "at most $max_windows windows of ${WINDOW_S}s"
# The harness reports answers per pod for a whole run, not over time, so the load comes in short
# consecutive windows, on both frontends at once (the first headless one runs the scale as an
# -event), until each frontend has had an answer from the new pod.
BACKENDS=$(pods backend)
seen_dns='' seen_watch=''
# window_run NAME URL TITLE [FLAGS...] runs one window of load in the background; BG is its pid.
window_run() {
  local name=$1 url=$2 title=$3
  shift 3
  "$LOAD" -target "$url" -rate "$RATE" -duration "${WINDOW_S}s" -max-errors 0 -title "$title" \
    -json "$ART/$name.json" "$@" >"$ART/$name.txt" 2>&1 &
  BG=$!
}
# window_check NAME PID waits for a window, fails on a failed request, and sets NEW to the new
# pod's name if it answered in that window, else to "".
window_check() {
  wait "$2" || { cat "$ART/$1.txt"; fail "scale to 4: load window $1 (${WINDOW_S}s at $RATE/s) had failures"; }
  NEW=$(jq -r --argjson old "$BACKENDS" '.by_pod | keys - $old | .[0] // empty' "$ART/$1.json")
}
for w in $(seq 1 "$max_windows"); do
  args=()
  [ "$w" = 1 ] && args=(-event '500ms=scale-backend-to 4')
  window_run "scale-up-window-$w" "$HEADLESS_URL" "scale to 4, headless, window $w" "${args[@]}"
  bg_dns=$BG
  window_run "scale-up-watch-$w" "$WATCH_URL" "scale to 4, watching, window $w"
  bg_watch=$BG
  window_check "scale-up-window-$w" "$bg_dns"
  new_dns=$NEW
  window_check "scale-up-watch-$w" "$bg_watch"
  new_watch=$NEW
  printf 'window %2d: headless %s | watching %s\n' "$w" "$(by_pod "scale-up-window-$w")" "$(by_pod "scale-up-watch-$w")"
  if [ -z "$seen_dns" ] && [ -n "$new_dns" ]; then seen_dns=$w new=$new_dns; fi
  if [ -z "$seen_watch" ] && [ -n "$new_watch" ]; then seen_watch=$w new=$new_watch; fi
  [ -z "$seen_dns" ] || [ -z "$seen_watch" ] || break
done
[ -n "$seen_watch" ] || fail "scale to 4: the watching frontend got no answer from a new backend pod in $max_windows windows of ${WINDOW_S}s"
[ -n "$seen_dns" ] || fail "scale to 4: the headless frontend got no answer from a new backend pod in $max_windows windows of ${WINDOW_S}s"
ready=$(kubectl get pod "$new" -o json |
  jq -r '.status.conditions[] | select(.type == "Ready" and .status == "True") | .lastTransitionTime')
[ -n "$ready" ] || fail "scale to 4: the new pod $new is not Ready"
first_window=$(epoch "$(jq -r .started "$ART/scale-up-window-1.json")")
ready_after_scale=$(awk -v r="$(epoch "$ready")" -v s="$first_window" 'BEGIN { printf "%.1f", r - s - 0.5 }')
# after_ready NAME: the end of window NAME minus the Ready time. Ready's time has whole seconds,
# so "at most" is rounded against us: up to 1 s too long.
after_ready() {
  awk -v s="$(epoch "$(jq -r .started "$ART/$1.json")")" -v d="$WINDOW_S" -v r="$(epoch "$ready")" 'BEGIN { printf "%.1f", s + d - r }'
}
after_dns=$(after_ready "scale-up-window-$seen_dns")
after_watch=$(after_ready "scale-up-watch-$seen_watch")
goal=no
awk -v a="$after_dns" -v m="$NEW_POD_TARGET_S" 'BEGIN { exit !(a <= m) }' && goal=yes
note ""
note "scale 3 -> 4 under load: new pod $new Ready ${ready_after_scale}s after the scale;"
note "  watching frontend (EndpointSlices): first answered in window $seen_watch, i.e. at most ${after_watch}s after it became Ready" \
  "(goal ${NEW_POD_TARGET_S}s) ($(by_pod "scale-up-watch-$seen_watch"))"
note "  headless frontend (DNS): first answered in window $seen_dns, i.e. at most ${after_dns}s after it became Ready" \
  "(bound ${NEW_POD_MAX_S}s = DNS cache ${dns_cache}s + DISCOVERY_TTL $discovery_ttl + 3s; meets the ${NEW_POD_TARGET_S}s goal: $goal)" \
  "($(by_pod "scale-up-window-$seen_dns"))"
awk -v a="$after_watch" -v m="$NEW_POD_TARGET_S" 'BEGIN { exit !(a <= m) }' &&
  pass "scale to 4: the watching frontend's first answer from $new came at most ${after_watch}s after it became Ready (<= ${NEW_POD_TARGET_S}s), no failed request in $seen_watch windows" ||
  fail "scale to 4: the watching frontend's first answer from $new came only ${after_watch}s after it became Ready (> ${NEW_POD_TARGET_S}s)"
awk -v a="$after_dns" -v m="$NEW_POD_MAX_S" 'BEGIN { exit !(a <= m) }' &&
  pass "scale to 4: the headless frontend's first answer from $new came at most ${after_dns}s after it became Ready (<= ${NEW_POD_MAX_S}s; ${NEW_POD_TARGET_S}s goal met: $goal), no failed request in $seen_dns windows" ||
  fail "scale to 4: the headless frontend's first answer from $new came only ${after_dns}s after it became Ready (> ${NEW_POD_MAX_S}s)"
"$LOAD" -target "$HEADLESS_URL" -rate "$RATE" -duration 4s -max-errors 0 -title "4 backend pods" \
  -json "$ART/scale-up-after.json" >"$ART/scale-up-after.txt" 2>&1 ||
  fail "scale to 4: the load after the new pod appeared had failures: $(cat "$ART/scale-up-after.txt")"
note "  the 4 s after it (headless): $(by_pod scale-up-after)"

say "1e. scale the backend back to 3 under load on the headless and the watching frontend"
load_bg scale-down-watch "scale 4 -> 3 under load, watching frontend" "$WATCH_URL" 30s
bg_watch=$BG
load scale-down "scale 4 -> 3 under load, headless frontend" "$HEADLESS_URL" 30s \
  -event '1s=scale-backend-to 3'
load_wait scale-down-watch "scale 4 -> 3 under load, watching frontend" "$bg_watch"
event_within scale-down 5
# Zero failures on both. Through DNS a removed pod's IP stays listed for up to the DNS cache time,
# and nothing answers there any more (no refusal): a call that picks it loses CLIENT_CONNECT_TIMEOUT
# (200ms) and goes on to another pod, which then skips that IP until discovery answers anew. The
# watch drops the pod as soon as it starts terminating.
slow() { # slow NAME: when calls slower than 900ms happened, if any
  jq -r '.timeline as $t | [range(0; $t.t | length) | select($t.max_ms[.] > 900) | $t.t[.]]
    | if length == 0 then "none" else "from \(.[0])s to \((.[-1] + $t.bucket_ms / 1000) * 10 | round / 10)s into the run" end' "$ART/$1.json"
}
latencies() { jq -r '"\(.succeeded)/\(.requests) 2xx, p50 \(.latency_ms.p50)ms p90 \(.latency_ms.p90)ms p99 \(.latency_ms.p99)ms max \(.latency_ms.max)ms"' "$ART/$1.json"; }
note ""
note "scale 4 -> 3 under load (the scale-down ended $(jq -r '.events[0] | (.at_ms + .duration_ms) / 1000 * 10 | round / 10' "$ART/scale-down.json")s in):"
note "  headless frontend (DNS): $(latencies scale-down); calls slower than 900ms: $(slow scale-down)"
note "  watching frontend (EndpointSlices): $(latencies scale-down-watch); calls slower than 900ms: $(slow scale-down-watch)"
[ "$(jq length <<<"$(pods backend)")" = 3 ] && pass "backend back to 3 pods" || fail "want 3 backend pods, have $(pods backend)"

# ---------------------------------------------------------------------------------------------
say "2a. failover: delete one of the 3 backend pods under load through the NodePort"
kubectl scale deployment/frontend-deployment --replicas="$FRONTEND_REPLICAS" >/dev/null
kubectl rollout status deployment/frontend-deployment --timeout="${E2E_TIMEOUT}s" >/dev/null ||
  fail "frontend did not scale back to $FRONTEND_REPLICAS"
kubectl rollout status deployment/backend-deployment --timeout="${E2E_TIMEOUT}s" >/dev/null
echo "frontend pods $(pods frontend), backend pods $(pods backend)"
load delete-pod "delete the busiest backend pod under load" "$URL" 25s -event 3s=delete-busiest-backend-pod
victim=$(jq -r '.events[0].output' "$ART/delete-pod.json" | sed -n 's/^deleting //p')
jq -r '.events[0].output' "$ART/delete-pod.json" | grep -E 'answered|deleting|proxy' || true
event_within delete-pod 5
row() { jq -r --arg what "$2" '"| \($what) | \(.requests) | \(.succeeded) (\(.success_ratio * 100 | round)%) | \(.latency_ms.p50)ms | \(.latency_ms.p90)ms | \(.latency_ms.p99)ms | \(.latency_ms.max)ms |"' "$ART/$1.json" | tee -a "$SUMMARY"; }
ROWS=()
ROWS+=("delete-pod:delete the busiest of 3 backend pods (it answered $(jq -r --arg v "$victim" '.by_pod[$v] // 0' "$ART/delete-pod.json") of the run's requests before it went)")

say "2b. rolling restart of the backend under load through the NodePort"
load restart-backend "rollout restart backend under load" "$URL" 40s -event '2s=rollout-restart backend-deployment'
event_within restart-backend 5
ROWS+=("restart-backend:kubectl rollout restart deployment/backend-deployment")

say "2c. rolling restart of the frontend ($FRONTEND_REPLICAS replicas) under load through the NodePort"
load restart-frontend "rollout restart frontend under load" "$URL" 35s -event '2s=rollout-restart frontend-deployment'
event_within restart-frontend 5
ROWS+=("restart-frontend:kubectl rollout restart deployment/frontend-deployment")
note ""
note "failover under $RATE/s through the NodePort frontend ($URL):"
note "| disruption | requests | 2xx | p50 | p90 | p99 | max |"
note "| --- | --- | --- | --- | --- | --- | --- |"
for r in "${ROWS[@]}"; do row "${r%%:*}" "${r#*:}"; done

# ---------------------------------------------------------------------------------------------
say "2d. backend scaled to 0: the frontend answers 503 with a JSON reason within ${DEADLINE_S}s"
# frontend_state prints each frontend pod's name and restart count, to prove none restarted.
frontend_state() {
  kubectl get pods -l app=frontend -o json | jq -c '[.items[] | select(.metadata.deletionTimestamp == null)
    | {name: .metadata.name, restarts: ([.status.containerStatuses[].restartCount] | add)}] | sort_by(.name)'
}
fe_before=$(frontend_state)
old=$(pods backend)
kubectl scale deployment/backend-deployment --replicas=0 >/dev/null
# shellcheck disable=SC2046 # one argument per pod
kubectl wait --for=delete $(pod_refs "$old") --timeout=60s >/dev/null || fail "the backend pods were not gone 60s after scaling to 0"
# With no endpoints kube-proxy REJECTs the connection, and the node's kernel answers with an ICMP
# "port unreachable" (a fast refusal) but rate-limits those per destination (net.ipv4.icmp_ratelimit:
# a burst of 6, then 1/s). A SYN rejected beyond that gets no answer at all; the client's connect
# timeout (CLIENT_CONNECT_TIMEOUT, 200ms) turns that into a fast 503 too. Three single calls first,
# then the same under load.
for i in 1 2 3; do
  out=$(curl -sS --max-time 10 -H 'Accept: application/json' -w '\n%{http_code} %{time_total}' "$URL/") ||
    fail "GET $URL/ with the backend at 0 replicas: no answer: $out"
  read -r code took <<<"${out##*$'\n'}"
  body=${out%$'\n'*}
  echo "$code ${took}s $body"
  [ "$code" = 503 ] && awk -v t="$took" -v d="$DEADLINE_S" -v m="$CLIENT_TIMEOUT_MARGIN_S" 'BEGIN { exit !(t <= d + m) }' &&
    jq -e '.status == 503 and (.error | test("unavailable")) and (.tried.attempts >= 1) and (.tried.addrs | length >= 1)
      and (.trace_id | length > 0)' >/dev/null 2>&1 <<<"$body" &&
    pass "backend at 0: call $i answered $code in ${took}s (deadline ${DEADLINE_S}s) with $(jq -c '{error, tried}' <<<"$body")" ||
    fail "backend at 0: call $i answered $code in ${took}s, want 503 within ${DEADLINE_S}s and a JSON reason: $body"
done
note ""
note "backend at 0 replicas: GET / through the NodePort answered $code in ${took}s: $body"
# Under load every answer is a failure, so -max-errors lets them all through; the checks below
# want each one to be a 503 within the deadline.
"$LOAD" -target "$URL" -rate "$RATE" -duration 5s -max-errors 1000000 -title "backend at 0 replicas, under load" \
  -json "$ART/backend-zero.json" -plot "$ART/backend-zero.html" >"$ART/backend-zero.txt" 2>&1 ||
  fail "the harness failed against the frontend with no backend: $(cat "$ART/backend-zero.txt")"
cat "$ART/backend-zero.txt"
note "backend at 0 replicas under $RATE/s for 5s: $(jq -r '"statuses \(.status_codes | to_entries | map("\(.key) x\(.value)") | join(", ")); latency p50 \(.latency_ms.p50)ms p90 \(.latency_ms.p90)ms p99 \(.latency_ms.p99)ms max \(.latency_ms.max)ms"' "$ART/backend-zero.json")"
jq -e --argjson d "$DEADLINE_S" '(.status_codes | keys) == ["503"] and .latency_ms.max <= $d * 1000' "$ART/backend-zero.json" >/dev/null &&
  pass "backend at 0 under load: all $(jq .requests "$ART/backend-zero.json") requests answered 503 within ${DEADLINE_S}s (max $(jq .latency_ms.max "$ART/backend-zero.json")ms)" ||
  fail "backend at 0 under load: want only 503s within ${DEADLINE_S}s, got $(jq -c '{status_codes, max_ms: .latency_ms.max}' "$ART/backend-zero.json")"

say "2e. backend back to 3: success again within ${RECOVERY_MAX_S}s, same frontend pods, no restart"
t0=$(date +%s.%N)
kubectl scale deployment/backend-deployment --replicas=3 >/dev/null
ok_after=
trail=()
for i in $(seq 1 60); do
  sent=$(awk -v n="$(date +%s.%N)" -v s="$t0" 'BEGIN { printf "%.1f", n - s }')
  out=$(curl -sS --max-time 5 -o /dev/null -H 'Accept: application/json' -w '%{http_code} %{time_total}' "$URL/" 2>&1) || true
  now=$(awk -v n="$(date +%s.%N)" -v s="$t0" 'BEGIN { printf "%.1f", n - s }')
  read -r code took <<<"$out"
  trail+=("${sent}s:${code}(${took:0:4}s)")
  if [ "$code" = 200 ]; then
    ok_after=$now
    break
  fi
  awk -v n="$now" 'BEGIN { exit !(n < 30) }' || break
  sleep 0.5
done
echo "answers after the scale (sent at: status (time taken)): ${trail[*]}"
[ -n "$ok_after" ] || fail "backend back to 3: no 200 in 30s (${trail[*]})"
first_ready=$(kubectl get pods -l app=backend -o json | jq -r '[.items[].status.conditions[]? | select(.type == "Ready" and .status == "True") | .lastTransitionTime] | min // empty')
ready_s=$([ -n "$first_ready" ] && awk -v r="$(epoch "$first_ready")" -v s="$t0" 'BEGIN { printf "%.1f", r - s }' || echo "?")
note "backend 0 -> 3: first 200 ${ok_after}s after the scale (first pod Ready after ~${ready_s}s); answers (sent at: status (took)): ${trail[*]}"
awk -v a="$ok_after" -v m="$RECOVERY_MAX_S" 'BEGIN { exit !(a <= m) }' &&
  pass "backend back to 3: the frontend answered 200 ${ok_after}s after the scale (<= ${RECOVERY_MAX_S}s)" ||
  fail "backend back to 3: the first 200 came ${ok_after}s after the scale (> ${RECOVERY_MAX_S}s)"
fe_after=$(frontend_state)
[ "$fe_after" = "$fe_before" ] && pass "the same frontend pods served before and after, none restarted: $fe_after" ||
  fail "the frontend pods changed or restarted: before $fe_before, after $fe_after"
kubectl rollout status deployment/backend-deployment --timeout="${E2E_TIMEOUT}s" >/dev/null ||
  fail "backend did not get back to 3 ready replicas"
pass "backend back to 3 ready replicas"

note ""
note "added e2e time: $(($(date +%s) - START))s; artifacts: $ART"
