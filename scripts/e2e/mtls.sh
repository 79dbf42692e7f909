# shellcheck shell=bash
# SC2016: the single-quoted $names are jq variables.
# shellcheck disable=SC2016
# Sourced by scripts/e2e.sh, after the HTTPS section (the CA of scripts/certs.sh is in $CERTS,
# the pair runs k8s/tls in namespace default): mutual TLS with k8s/mtls/. The frontend, holding
# the identity spiffe://cluster.local/ns/default/sa/frontend, is served; two pods that copy the
# frontend's labels (so backend-allow-clients admits their packets) are refused by the backend:
# one with only the CA (no client certificate: refused at the handshake), one with a
# certificate of the same CA naming another identity (a 403). The backends count both.

say "mutual TLS (k8s/mtls/): only the frontend's certificate is served; pods copying its labels are refused"
apply_pair k8s/mtls https
require=$(kubectl get deploy backend-deployment -o json | jq -r '.spec.template.spec.containers[0].env[] | select(.name == "TLS_CLIENT_AUTH" or .name == "TLS_ALLOWED_CLIENTS") | "\(.name)=\(.value)"' | paste -sd' ' -)
await_answer '.backend.pod | IN($pods[])' --argjson pods "$(ready_pods default backend)" -- http_get "$URL/" -H 'Accept: application/json'
echo "$json"
expect "k8s/mtls ($require): GET / through the NodePort answers from a backend pod, the frontend presenting its certificate" "$json" \
  '.discovery.scheme == "https" and (.backend.pod | IN($pods[]))' --argjson pods "$(ready_pods default backend)"

# An identity of the same CA that the backend does not admit, made the way scripts/certs.sh
# makes the frontend's.
intruder=$CERTS/default/intruder
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$intruder.key" 2>/dev/null
openssl req -new -key "$intruder.key" -subj /CN=intruder -out "$intruder.csr"
openssl x509 -req -in "$intruder.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
  -days 1 -sha256 -out "$intruder.crt" -extfile <(printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
    'keyUsage=critical,digitalSignature' 'extendedKeyUsage=clientAuth' \
    'subjectAltName=URI:spiffe://cluster.local/ns/default/sa/intruder') 2>/dev/null
kubectl create secret generic mtls-probe-anonymous --from-file=ca.crt="$CERTS/ca.crt" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl create secret tls mtls-probe-intruder --cert="$intruder.crt" --key="$intruder.key" --dry-run=client -o yaml |
  kubectl apply -f - >/dev/null
kubectl patch secret mtls-probe-intruder --type=merge -p "{\"data\":{\"ca.crt\":\"$(base64 -w0 <"$CERTS/ca.crt")\"}}" >/dev/null

# refused_total prints http_server_tls_refused_total{reason=REASON} summed over the backend pods,
# scraped on their admin port through the API server's pod proxy.
refused_total() {
  local pod n=0
  for pod in $(ready_pods default backend | jq -r '.[]'); do
    kubectl get --raw "/api/v1/namespaces/default/pods/$pod:9090/proxy/metrics" >"$WORK/mtls-metrics" ||
      fail "scrape of $pod:9090/metrics through the pod proxy failed"
    n=$((n + $(sample "$WORK/mtls-metrics" "http_server_tls_refused_total{reason=\"$1\"}")))
  done
  echo "$n"
}

# mtls_probe NAME SECRET runs the frontend image's one-shot "call" as a Job labelled app: frontend
# (what backend-allow-clients admits) with CLIENT_TLS_DIR holding Secret SECRET, prints its
# output and returns 0 when the call succeeded. CALL_WAIT covers the few seconds the policy
# enforcer takes to program a new pod; a refused certificate is final at once.
mtls_probe() {
  local name=$1 secret=$2 deadline status
  kubectl delete job "$name" --ignore-not-found --wait=true >/dev/null
  kubectl apply -f - >/dev/null <<YAML
apiVersion: batch/v1
kind: Job
metadata:
  name: $name
  labels: {e2e-probe: mtls}
spec:
  backoffLimit: 0
  activeDeadlineSeconds: 60
  template:
    metadata:
      labels: {app: frontend, e2e-probe: mtls}
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: {type: RuntimeDefault}}
      volumes:
        - name: client-tls
          secret: {secretName: $secret, defaultMode: 0440}
      containers:
        - name: call
          image: frontend:$IMAGE_TAG
          imagePullPolicy: IfNotPresent
          args: ["call"]
          env:
            - {name: DISCOVERY_PORT_NAME, value: http}
            - {name: CALL_WAIT, value: 10s}
            - {name: CLIENT_TLS_DIR, value: /etc/svc2svc/client-tls}
          volumeMounts:
            - {name: client-tls, mountPath: /etc/svc2svc/client-tls, readOnly: true}
          resources: {requests: {cpu: 50m, memory: 32Mi}, limits: {cpu: 500m, memory: 64Mi}}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: ["ALL"]}}
YAML
  deadline=$(($(date +%s) + E2E_TIMEOUT))
  while :; do
    status=$(kubectl get job "$name" -o jsonpath='{.status.succeeded}/{.status.failed}')
    [ "$status" = / ] || [ "$status" = 0/0 ] || break
    [ "$(date +%s)" -lt "$deadline" ] || fail "Job $name did not finish in ${E2E_TIMEOUT}s"
    sleep 2
  done
  kubectl logs "job/$name" 2>&1 | grep -v '^{' || true
  kubectl delete job "$name" --wait=true --cascade=foreground >/dev/null
  [ "${status%/*}" = 1 ]
}

for probe in "anonymous no_certificate backend refused our client certificate" \
  "intruder identity_not_allowed backend refused the frontend's identity (403)"; do
  read -r who reason want <<<"$probe"
  before=$(refused_total "$reason")
  if out=$(mtls_probe "mtls-probe-$who" "mtls-probe-$who"); then
    echo "$out"
    fail "a pod labelled app: frontend with the $who client files reached the backend under mutual TLS"
  fi
  echo "$out"
  grep -qF "reason: $want" <<<"$out" || fail "the $who probe failed, but not with '$want': $out"
  after=$(refused_total "$reason")
  [ "$after" -gt "$before" ] ||
    fail "backends' http_server_tls_refused_total{reason=\"$reason\"} stayed at $before after the $who probe"
  pass "a pod copying app: frontend ($who) passes the NetworkPolicy but is refused: '$want'; backends' http_server_tls_refused_total{reason=\"$reason\"} $before -> $after"
done
kubectl delete secret mtls-probe-anonymous mtls-probe-intruder --ignore-not-found >/dev/null
