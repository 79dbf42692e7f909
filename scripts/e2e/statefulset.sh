# statefulset.sh is a section of scripts/e2e.sh, sourced by it (with its functions say, pass,
# fail, expect, http_get, overlay, rollout and its $NODE_IP, $E2E_TIMEOUT, $WORK): specific pods
# by stable name, k8s/statefulset/. It applies the overlay in namespace default, calls each of
# backend-0..2 by name through frontend-stateful's GET /api/pod/{name}, then deletes backend-0
# and waits for the same name to answer from the new pod's IP, printing both IPs and how long
# each step took: seed 001's point that pod IPs change and names do not. It deletes the overlay
# again at the end, so the load checks after it find the node as they expect it.
# shellcheck shell=bash
# SC2016: the single-quoted $names are jq variables. SC2015: "test && pass || fail" is safe, pass never fails.
# shellcheck disable=SC2016,SC2015

say "pods by stable name (k8s/statefulset/: StatefulSet backend behind the headless Service backend-stateful)"
kubectl apply -k "$(overlay k8s/statefulset)"
kubectl rollout status statefulset/backend --timeout="${E2E_TIMEOUT}s" && pass "rollout of default/statefulset backend" ||
  fail "rollout of default/statefulset backend did not finish in ${E2E_TIMEOUT}s"
rollout default frontend-stateful
# DNS knows a pod's name once backend-stateful's EndpointSlice lists the pod ready, a moment
# after the StatefulSet counts it ready; a query in between gets an NXDOMAIN that CoreDNS caches
# for 30 s (seen once: backend-1 unknown for the whole of http_get's retries). So wait for the slice.
for _ in $(seq 1 "$E2E_TIMEOUT"); do
  sts_ready=$(kubectl get endpointslices -l kubernetes.io/service-name=backend-stateful -o json |
    jq '[.items[].endpoints[]? | select(.conditions.ready == true)] | length')
  [ "$sts_ready" = 3 ] && break
  sleep 1
done
[ "$sts_ready" = 3 ] || fail "backend-stateful's EndpointSlices list $sts_ready ready pods ${E2E_TIMEOUT}s after the rollout, want 3"
STS_URL=http://$NODE_IP:$(kubectl get svc frontend-stateful -o jsonpath='{.spec.ports[0].nodePort}')

# sts_pod NAME prints the uid and IP of pod NAME, "-" for what it does not have yet.
sts_pod() { kubectl get pod "$1" -o jsonpath='{.metadata.uid} {.status.podIP}{"\n"}' 2>/dev/null | awk '{print $1, ($2 == "" ? "-" : $2)}'; }
# fqdn NAME is the DNS name of pod NAME that the frontend asks for: in its own namespace, by FQDN.
STS_NS=$(kubectl get svc frontend-stateful -o jsonpath='{.metadata.namespace}')
fqdn() { echo "$1.backend-stateful.$STS_NS.svc.cluster.local."; }

for n in 0 1 2; do
  pod=backend-$n
  read -r _ ip <<<"$(sts_pod "$pod")"
  json=$(http_get "$STS_URL/api/pod/$pod") || fail "GET $STS_URL/api/pod/$pod"
  echo "$json"
  expect "GET /api/pod/$pod answers from $pod itself, at its pod IP $ip:8080, found via dns $(fqdn "$pod")" "$json" \
    '.requested == $pod and .backend.pod == $pod and .backend.pod_ip == $ip and .discovery.source == "dns"
     and .discovery.name == $fqdn and .discovery.addr == ($ip + ":8080")' \
    --arg pod "$pod" --arg ip "$ip" --arg fqdn "$(fqdn "$pod")"
done

# status_of PATH prints the status and the JSON body of GET PATH on frontend-stateful, on one line.
status_of() { curl -sS --connect-timeout 3 --max-time 10 -w ' %{http_code}' "$STS_URL$1" 2>&1 || true; }
for probe in 'Backend-0 400' 'backend-0.kube-system 400' 'backend-7 404'; do
  read -r name want <<<"$probe"
  out=$(status_of "/api/pod/$name")
  code=${out##* }
  echo "$code $(jq -c . 2>/dev/null <<<"${out% *}" || echo "${out% *}")"
  [ "$code" = "$want" ] && jq -e '.error | length > 0' >/dev/null 2>&1 <<<"${out% *}" &&
    pass "GET /api/pod/$name is a JSON $want: $(jq -r .error <<<"${out% *}")" ||
    fail "GET /api/pod/$name = $out, want a JSON $want"
done
spread=$(http_get "$STS_URL/api/spread?n=30") || fail "GET $STS_URL/api/spread?n=30"
echo "$spread"
expect "GET / of frontend-stateful spreads over backend-0, backend-1 and backend-2 (SRV records of backend-stateful)" "$spread" \
  '.succeeded == 30 and (.by_pod | keys) == ["backend-0", "backend-1", "backend-2"]'

# Only now, with the pods running: admission of the namespace label checks every pod in default.
out=$(kubectl label --dry-run=server --overwrite ns default pod-security.kubernetes.io/enforce=restricted 2>&1) ||
  fail "kubectl label --dry-run=server ns default: $out"
grep -qi warning <<<"$out" && fail "pods in default violate the restricted Pod Security Standard: $out" ||
  pass "the StatefulSet's and frontend-stateful's pods pass the restricted Pod Security Standard"

# The point: delete backend-0 and call it by name until the answer comes from the new pod.
read -r old_uid old_ip <<<"$(sts_pod backend-0)"
t0=$(date +%s.%N)
kubectl delete pod backend-0 --wait=false
declare -A seen=()
deadline=$(($(date +%s) + E2E_TIMEOUT))
while :; do
  out=$(status_of /api/pod/backend-0)
  code=${out##* }
  body=${out% *}
  if [ "$code" = 200 ] && ! jq -e '.discovery.addr == $old' --arg old "$old_ip:8080" >/dev/null <<<"$body"; then
    break
  fi
  # What the name gave meanwhile, counted: the old pod while it drains, 404 while DNS lists no
  # ready backend-0, 503 while DNS still gives the old IP.
  key="$code $(jq -r 'if .error then .error else "the old pod \(.backend.pod_ip) still answering" end' 2>/dev/null <<<"$body" || echo "$body")"
  seen[$key]=$((${seen[$key]:-0} + 1))
  [ "$(date +%s)" -lt "$deadline" ] || fail "backend-0 did not answer from a new pod within ${E2E_TIMEOUT}s of kubectl delete pod backend-0: last $out"
  sleep 0.5
done
answered=$(awk -v n="$(date +%s.%N)" -v s="$t0" 'BEGIN { printf "%.1f", n - s }')
echo "$body"
read -r new_uid new_ip <<<"$(sts_pod backend-0)"
ready_at=$(kubectl get pod backend-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}')
created_at=$(kubectl get pod backend-0 -o jsonpath='{.metadata.creationTimestamp}')
since() { awk -v n="$(date -d "$1" +%s)" -v s="$t0" 'BEGIN { printf "%.0f", n - s }'; }
echo "backend-0: pod $old_uid at $old_ip deleted at 0s; pod $new_uid created at +$(since "$created_at")s (to the second), Ready at +$(since "$ready_at")s, answering by name from $new_ip at +${answered}s"
for key in "${!seen[@]}"; do echo "  meanwhile ${seen[$key]} x $key"; done
expect "backend-0 by name: answered from a new pod ($old_ip -> $new_ip, uid changed) ${answered}s after kubectl delete pod backend-0; the name stayed $(fqdn backend-0)" "$body" \
  '.backend.pod == "backend-0" and .backend.pod_ip == $ip and .discovery.addr == ($ip + ":8080") and .discovery.name == $fqdn
   and $ip != $old and $new_uid != $old_uid' \
  --arg ip "$new_ip" --arg old "$old_ip" --arg fqdn "$(fqdn backend-0)" --arg new_uid "$new_uid" --arg old_uid "$old_uid"

# Gone again, and waited for, so the load checks that follow have the node's CPU to themselves.
kubectl delete -k "$(overlay k8s/statefulset)" --wait=true --timeout=120s >/dev/null
kubectl wait --for=delete pod -l 'app in (backend-stateful,frontend-stateful)' --timeout=120s >/dev/null 2>&1 || true
[ -z "$(kubectl get pods -l 'app in (backend-stateful,frontend-stateful)' -o name)" ] &&
  pass "k8s/statefulset deleted again, its pods gone" || fail "pods of k8s/statefulset left after kubectl delete -k"
