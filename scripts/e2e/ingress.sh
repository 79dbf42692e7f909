# ingress.sh is the Ingress section of scripts/e2e.sh, sourced by it with the pair (k8s/, this
# run's images) running in namespace INGRESS_NS (default, as e2e.sh deploys it; kubectl's context
# must point there too) and $URL its frontend from outside (the NodePort). It uses e2e.sh's say, pass,
# fail, expect, http_get, overlay, ready_pods and $WORK, and leaves nothing behind: the Ingress,
# its NetworkPolicy and Secret go at its end (e2e.sh's cleanup deletes them too, if it stops).
# What it proves, through the cluster's Ingress controller (Traefik on the kube-lab, ingress-nginx
# on minikube) at INGRESS_IP (default: the Ingress's status address, else NODE_IP):
#   - https://svc2svc.local/ answers from a backend pod, TLS terminated with the certificate of
#     Secret svc2svc-ingress-tls (checked with the CA), and the frontend shows the client ip the
#     controller told it; https://svc2svc.local/backend answers straight from a backend pod;
#   - what a client's own X-Forwarded-For becomes, through the Ingress and through the NodePort;
#   - http:// redirects to https:// where the controller does (ingress-nginx), or what it does;
#   - a rollout of the frontend under INGRESS_RATE/s (100) through the Ingress over HTTPS fails
#     no request, and how long the controller kept sending to a terminating pod (the drain).
# SC2034: TLS_PIDS is read by e2e.sh's cleanup, which kills what a stopped section left running.
# shellcheck shell=bash disable=SC2016,SC2015,SC2034

say "Ingress (k8s/ingress/): https://svc2svc.local through the cluster's Ingress controller, TLS terminated there"
ING_HOST=svc2svc.local
INGRESS_NS=${INGRESS_NS:-default}
INGRESS_RATE=${INGRESS_RATE:-100}
CERTS=$WORK/certs
CERTS_DIR=$CERTS NAMESPACE=$INGRESS_NS bash scripts/certs.sh ingress || fail "scripts/certs.sh ingress"
kubectl apply -k "$(overlay k8s/ingress)"
for _ in $(seq 1 15); do
  INGRESS_IP=$(kubectl get ingress svc2svc -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
  [ -z "$INGRESS_IP" ] || break
  sleep 1
done
INGRESS_IP=${INGRESS_IP:-$NODE_IP}
# The API server gives an Ingress without a class the default one (its DefaultIngressClass admission).
class=$(kubectl get ingress svc2svc -o jsonpath='{.spec.ingressClassName}')
class="${class:-none} ($(kubectl get ingressclass "${class:-none}" -o jsonpath='{.spec.controller}' 2>/dev/null || echo 'no such IngressClass'))"
# The address this machine's requests come from, as the controller sees them (Linux's ip; elsewhere unchecked).
SRC_IP=$(ip -o route get "$INGRESS_IP" 2>/dev/null | sed -n 's/.* src \([^ ]*\).*/\1/p' || true)
echo "Ingress at $INGRESS_IP, IngressClass $class, this machine's address toward it: ${SRC_IP:-unknown}"
ING=(--resolve "$ING_HOST:443:$INGRESS_IP" --resolve "$ING_HOST:80:$INGRESS_IP" --cacert "$CERTS/ca.crt")
ING_URL=https://$ING_HOST

json=$(http_get "$ING_URL/" "${ING[@]}" -H 'Accept: application/json') || fail "GET $ING_URL/ through the Ingress at $INGRESS_IP"
echo "$json"
expect "GET $ING_URL/ (curl --resolve $ING_HOST:443:$INGRESS_IP --cacert ca.crt) answers from a backend pod" "$json" \
  '.backend.service == "backend" and (.backend.pod | IN($pods[])) and .discovery.name == "backend-service"' \
  --argjson pods "$(ready_pods "$INGRESS_NS" backend)"
expect "the frontend was told the client ip by the Ingress (${SRC_IP:-any}), proto https, host $ING_HOST" "$json" \
  '.client.ip_from == "x-forwarded-for" and .client.forwarded_proto == "https" and .client.forwarded_host == $host
   and ($src == "" or .client.ip == $src) and (.client.peer | length > 0)' --arg host "$ING_HOST" --arg src "$SRC_IP"
served=$(openssl s_client -connect "$INGRESS_IP:443" -servername "$ING_HOST" -CAfile "$CERTS/ca.crt" \
  -verify_hostname "$ING_HOST" -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null || true)
issued=$(openssl x509 -noout -serial -in "$CERTS/$INGRESS_NS/ingress.crt")
[ "$served" = "$issued" ] && pass "the Ingress serves Secret svc2svc-ingress-tls's certificate ($issued), valid for $ING_HOST under the CA" ||
  fail "the Ingress serves '$served' for $ING_HOST, want $issued from Secret svc2svc-ingress-tls"
text=$(http_get "$ING_URL/" "${ING[@]}") || fail "GET $ING_URL/ (text)"
grep -q '^client ip: .* (as told by X-Forwarded-For, not verified)$' <<<"$text" &&
  pass "the text answer labels it: $(grep '^client ip: ' <<<"$text")" || fail "the text answer has no labelled client ip: $text"

json=$(http_get "$ING_URL/backend" "${ING[@]}") || fail "GET $ING_URL/backend through the Ingress"
echo "$json"
expect "path route: GET $ING_URL/backend answers straight from a backend pod (its identity, no frontend in between)" "$json" \
  '.service == "backend" and (.pod | IN($pods[])) and has("discovery") == false' --argjson pods "$(ready_pods "$INGRESS_NS" backend)"

# A client's own X-Forwarded-For: through the Ingress, the client ip stays the one the controller
# saw (Traefik drops the header from an untrusted client, ingress-nginx too by default; a
# controller that appends it would leave it first, never last); through the NodePort there is
# no proxy, so the frontend shows the claim, labelled as told.
json=$(http_get "$ING_URL/" "${ING[@]}" -H 'Accept: application/json' -H 'X-Forwarded-For: 203.0.113.9') || fail "GET $ING_URL/ with X-Forwarded-For"
expect "through the Ingress, a client claiming X-Forwarded-For: 203.0.113.9 is still shown as ${SRC_IP:-its address} (forwarded_for $(jq -c .client.forwarded_for <<<"$json"))" "$json" \
  '.client.ip != "203.0.113.9" and ($src == "" or .client.ip == $src)' --arg src "$SRC_IP"
json=$(http_get "$URL/" -H 'Accept: application/json' -H 'X-Forwarded-For: 203.0.113.9') || fail "GET $URL/ with X-Forwarded-For"
expect "through the NodePort (no proxy), the same claim is shown as told: client ip 203.0.113.9, ip_from x-forwarded-for" "$json" \
  '.client.ip == "203.0.113.9" and .client.ip_from == "x-forwarded-for"'
out=$(curl -sS --max-time 10 -w '\n%{http_code}' -H 'X-Forwarded-For: <script>' "$URL/") || fail "GET $URL/ with a malformed X-Forwarded-For"
[ "${out##*$'\n'}" = 400 ] && jq -e '.error | test("X-Forwarded-For")' >/dev/null <<<"${out%$'\n'*}" &&
  pass "a malformed X-Forwarded-For is a 400: ${out%$'\n'*}" || fail "a malformed X-Forwarded-For got: $out"

# HTTP: ingress-nginx redirects to https when the Ingress has tls (308); Traefik only through a
# Middleware (its CRD) or an entry-point setting, neither of which an Ingress can ask for.
out=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' "${ING[@]}" "http://$ING_HOST/") || fail "GET http://$ING_HOST/"
out=${out% }
case $out in
  30[1278]" https://$ING_HOST/") pass "http://$ING_HOST/ redirects to HTTPS: $out" ;;
  200) [[ $class == *traefik* ]] && pass "http://$ING_HOST/ is served over HTTP, not redirected ($out): Traefik redirects only with its Middleware CRD or an entry-point setting (docs/ingress.md#http-to-https)" ||
    fail "http://$ING_HOST/ = $out under IngressClass $class, want a redirect to https" ;;
  *) fail "http://$ING_HOST/ = '$out', want a redirect to https://$ING_HOST/ (or, on Traefik, 200)" ;;
esac

# ---------------------------------------------------------------------------------------------
say "Ingress: a rollout of the frontend under ${INGRESS_RATE}/s through https://$ING_HOST (no request may fail)"
# The controller sends to the frontend pods' own addresses (EndpointSlices), not through the
# Service's ClusterIP: a terminating pod leaves its list when the controller sees the update,
# and DRAIN_DELAY (5s) must cover that. Each old pod's log says when its shutdown started and
# when it answered its last GET /: the gap is how long the controller still sent to it.
INGRESS_LOAD_S=${INGRESS_LOAD_S:-60}
go build -o "$WORK/load" ./tools/cmd/load || fail "go build ./tools/cmd/load"
old_pods=$(ready_pods "$INGRESS_NS" frontend | jq -r '.[]')
log_pids=()
for pod in $old_pods; do
  kubectl logs -f "$pod" --since=1s >"$WORK/ingress-$pod.log" 2>&1 &
  log_pids+=($!)
done
# Only the load's requests count below, to the nanosecond: the malformed-header check above ended
# a moment ago, its 400 maybe in the same second, on a pod of this rollout.
load_t0=$(date +%s.%N)
"$WORK/load" -target "$ING_URL" -resolve "$ING_HOST:443:$INGRESS_IP" -cacert "$CERTS/ca.crt" -rate "$INGRESS_RATE" \
  -duration "${INGRESS_LOAD_S}s" -max-errors 0 -title "frontend rollout through the Ingress" -mark "5s=kubectl rollout restart" \
  -json "$WORK/ingress-rollout.json" -plot "$WORK/ingress-rollout.html" >"$WORK/ingress-rollout.txt" 2>&1 &
load_pid=$!
TLS_PIDS="${log_pids[*]} $load_pid"
load_start=$(date +%s)
sleep 5
kubectl rollout restart deployment/frontend-deployment
kubectl rollout status deployment/frontend-deployment --timeout="${E2E_TIMEOUT}s" || fail "the frontend rollout did not finish in ${E2E_TIMEOUT}s"
rolled=$(($(date +%s) - load_start))
# The old pods drain for DRAIN_DELAY after the rollout counts them gone: the load must outlast that.
[ $((rolled + 8)) -le "$INGRESS_LOAD_S" ] || fail "the rollout took until ${rolled}s of the ${INGRESS_LOAD_S}s load: raise INGRESS_LOAD_S"
wait "$load_pid" || fail "rollout through the Ingress: failed requests: $(cat "$WORK/ingress-rollout.txt")"
TLS_PIDS="${log_pids[*]}"
cat "$WORK/ingress-rollout.txt"
# The log followers end with their pods' containers; a pod still shutting down gets a moment.
for pid in "${log_pids[@]}"; do
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill "$pid" 2>/dev/null || true
done
TLS_PIDS=
jq -e '.requests > 0 and .succeeded == .requests' "$WORK/ingress-rollout.json" >/dev/null ||
  fail "rollout through the Ingress: $(jq -c '{requests, succeeded, status_codes}' "$WORK/ingress-rollout.json")"
# epoch turns a log's RFC 3339 time with nanoseconds into seconds (jq's fromdate takes none).
epoch='def epoch: (sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) + ((capture("(?<f>\\.[0-9]+)Z$").f // "0") | tonumber);'
drains=''
max_gap=0
for pod in $old_pods; do
  d=$(grep '^{' "$WORK/ingress-$pod.log" | jq -rs "$epoch"'
    ([.[] | select(.msg == "shutdown started")][0].time | epoch) as $stop
    | [.[] | select(.msg == "http request" and .path == "/" and (.time | epoch) >= $start)] as $reqs
    | ([$reqs[].time | epoch] | max) as $last
    | "\($pod) \(($last - $stop) * 10 | round / 10) \([$reqs[] | select((.time | epoch) > $stop)] | length) \([$reqs[] | .status] | map(select(. != 200)) | length)"' --arg pod "$pod" --argjson start "$load_t0") ||
    fail "no shutdown or no request in the log of $pod: $(tail -n 5 "$WORK/ingress-$pod.log")"
  read -r _ gap after bad <<<"$d"
  [ "$bad" = 0 ] || fail "$pod answered $bad non-200 GET / during the rollout"
  drains+="$pod: last GET / ${gap}s after its shutdown started, $after answered during the drain; "
  max_gap=$(awk -v a="$max_gap" -v b="$gap" 'BEGIN { print (b > a) ? b : a }')
done
echo "$drains"
awk -v g="$max_gap" 'BEGIN { exit !(g < 5) }' ||
  fail "the Ingress controller sent to a terminating frontend ${max_gap}s after its shutdown started, as long as DRAIN_DELAY (5s) or longer"
pass "frontend rollout through the Ingress: $(jq .requests "$WORK/ingress-rollout.json") requests at ${INGRESS_RATE}/s over HTTPS, none failed (p99 $(jq .latency_ms.p99 "$WORK/ingress-rollout.json") ms); the controller's last request to a terminating pod came at most ${max_gap}s after its shutdown started, inside DRAIN_DELAY 5s"

kubectl delete -k "$(overlay k8s/ingress)" --wait=true
kubectl delete secret svc2svc-ingress-tls --ignore-not-found
