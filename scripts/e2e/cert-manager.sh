# shellcheck shell=bash
# SC2016: the single-quoted $names are jq variables. SC2015: "test && pass || fail" is safe, pass never fails.
# shellcheck disable=SC2016,SC2015
# Sourced by scripts/e2e.sh after the mutual TLS section (k8s/mtls runs in namespace default):
# k8s/cert-manager, the same pair with its Secrets issued by cert-manager. The cluster gets
# cert-manager v1.20.3's CRDs (scripts/testdata/cert-manager-crds.yaml), so the API server
# validates the overlay's Issuers and Certificates against cert-manager's own schemas (a
# server-side dry run, and a broken Certificate must be refused). With CERT_MANAGER_CONTROLLER
# (a cert-manager controller binary, built from its Go module: see docs/tls.md) it goes further:
# the controller runs on this machine against the cluster, issues the CA and both Secrets, and
# the pair restarted on them answers over mutual TLS.

say "cert-manager (k8s/cert-manager/): its Issuers and Certificates against cert-manager's CRDs"
CM_CRDS=scripts/testdata/cert-manager-crds.yaml
kubectl apply --server-side --force-conflicts -f "$CM_CRDS" >/dev/null || fail "kubectl apply of $CM_CRDS"
kubectl wait --for condition=established --timeout=60s -f "$CM_CRDS" >/dev/null || fail "cert-manager's CRDs not established"
CM_OVERLAY=$(overlay k8s/cert-manager)
out=$(kubectl apply --dry-run=server -k "$CM_OVERLAY" -o name 2>&1) || fail "kubectl apply --dry-run=server -k k8s/cert-manager: $out"
cm_objects=$(grep -c 'cert-manager.io' <<<"$out" || true)
[ "$cm_objects" = 5 ] && pass "kubectl apply --dry-run=server -k k8s/cert-manager: the API server accepts its 2 Issuers and 3 Certificates under cert-manager v1.20.3's schemas" ||
  fail "k8s/cert-manager: $cm_objects cert-manager objects accepted, want 5: $out"
# The validation is real: the same Certificate with a usage cert-manager does not know is refused.
if out=$(kubectl kustomize k8s/cert-manager | sed 's/^  - server auth$/  - serving pages/' |
  kubectl apply --dry-run=server -f - 2>&1); then
  fail "a Certificate with usage 'serving pages' passed the server-side dry run: the CRDs do not validate: $out"
fi
grep -q 'Unsupported value: "serving pages"' <<<"$out" &&
  pass "a Certificate with an unknown usage is refused by the same dry run: $(grep -o 'spec.usages\[[0-9]*\]: Unsupported value: "serving pages"' <<<"$out")" ||
  fail "the broken Certificate was refused, but not for its usage: $out"

if [ -z "${CERT_MANAGER_CONTROLLER:-}" ]; then
  printf '\n!!!!!!!! SKIPPED: issuing with cert-manager: set CERT_MANAGER_CONTROLLER to a cert-manager controller binary (docs/tls.md says how to build one) !!!!!!!!\n\n'
else
  say "cert-manager's controller ($CERT_MANAGER_CONTROLLER, on this machine) issues backend-tls and frontend-tls"
  "$CERT_MANAGER_CONTROLLER" --kubeconfig "$KUBECONFIG" --leader-elect=false --namespace=default \
    --cluster-resource-namespace=default --metrics-listen-address=127.0.0.1:0 >"$WORK/cert-manager.log" 2>&1 &
  CM_PID=$!
  kubectl delete secret backend-tls frontend-tls --ignore-not-found >/dev/null
  kubectl apply -k "$CM_OVERLAY" >/dev/null
  kubectl wait --for=condition=Ready --timeout=120s certificate/svc2svc-ca certificate/backend-tls certificate/frontend-tls ||
    fail "cert-manager did not issue the certificates in 120s: $(kubectl get certificates,certificaterequests -o wide 2>&1; tail -n 30 "$WORK/cert-manager.log")"
  cn() { kubectl get secret "$1" -o jsonpath="{.data.$2}" | base64 -d | openssl x509 -noout -subject -serial -ext subjectAltName 2>/dev/null | paste -sd' ' -; }
  echo "backend-tls: $(cn backend-tls tls\\.crt); ca.crt: $(cn backend-tls ca\\.crt)"
  echo "frontend-tls: $(cn frontend-tls tls\\.crt)"
  cn backend-tls 'ca\.crt' | grep -q 'CN *= *svc2svc CA' || fail "backend-tls's ca.crt is not cert-manager's CA: $(cn backend-tls 'ca\.crt')"
  cn frontend-tls 'tls\.crt' | grep -q 'URI:spiffe://cluster.local/ns/default/sa/frontend' || fail "frontend-tls does not name the frontend's identity"
  pass "cert-manager issued CA svc2svc-ca and the Secrets backend-tls and frontend-tls the pods mount"
  # The pods mount the Secrets by name: restarted, they read cert-manager's files at once.
  kubectl rollout restart deployment/backend-deployment deployment/frontend-deployment >/dev/null
  rollout default backend-deployment
  rollout default frontend-deployment
  tagged=$(ready_pods default backend)
  for _ in $(seq 1 15); do
    json=$(http_get "$URL/" -H 'Accept: application/json') || fail "GET $URL/ on cert-manager's certificates"
    jq -e '.backend.pod | IN($pods[])' --argjson pods "$tagged" >/dev/null <<<"$json" && break
    sleep 2
  done
  echo "$json"
  expect "k8s/cert-manager: GET / through the NodePort answers over mutual TLS with cert-manager's certificates on both sides" "$json" \
    '.discovery.scheme == "https" and (.backend.pod | IN($pods[]))' --argjson pods "$tagged"
  kill "$CM_PID" 2>/dev/null || true
  wait "$CM_PID" 2>/dev/null || true
  CM_PID=
fi
# The Certificates go with their CRDs; the pair stays (k8s/mtls's objects) for the next section.
kubectl delete --ignore-not-found --wait=true -f "$CM_CRDS" >/dev/null
