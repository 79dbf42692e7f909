# shellcheck shell=bash
# SC2016: the single-quoted $names are jq variables. SC2015: "test && pass || fail" is safe, pass never fails.
# shellcheck disable=SC2016,SC2015
# Sourced by scripts/e2e.sh after the mutual TLS section (k8s/mtls runs in namespace default):
# k8s/cert-manager, the same pair with its Secrets issued by cert-manager, applied the way users
# apply it (scripts/cert-manager.sh, which `make cert-manager` runs) into a namespace of its own,
# $CM_NS, whose name the certificates must carry. The cluster gets cert-manager v1.20.3's CRDs
# (scripts/testdata/cert-manager-crds.yaml), so the API server validates the Issuers and
# Certificates against cert-manager's own schemas (a server-side dry run, and a broken
# Certificate must be refused). With CERT_MANAGER_CONTROLLER (a cert-manager controller binary,
# built from its Go module: see docs/tls.md) it goes further: the controller runs on this machine
# against the cluster, issues the CA and both Secrets in $CM_NS, and the pair started on them
# answers over mutual TLS.

say "cert-manager (make cert-manager NAMESPACE=$CM_NS): its Issuers and Certificates against cert-manager's CRDs"
CM_CRDS=scripts/testdata/cert-manager-crds.yaml
kubectl apply --server-side --force-conflicts -f "$CM_CRDS" >/dev/null || fail "kubectl apply of $CM_CRDS"
kubectl wait --for condition=established --timeout=60s -f "$CM_CRDS" >/dev/null || fail "cert-manager's CRDs not established"
# A namespace that does not exist yet: the script says so and applies nothing.
if out=$(NAMESPACE=$CM_NS bash scripts/cert-manager.sh 2>&1); then
  fail "make cert-manager into the missing namespace $CM_NS succeeded: $out"
fi
grep -q "namespace '$CM_NS' does not exist" <<<"$out" && [ -z "$(kubectl get -A certificates -o name)" ] &&
  pass "make cert-manager NAMESPACE=$CM_NS before the namespace exists: refused, nothing applied: $out" ||
  fail "make cert-manager into a missing namespace: $out; certificates: $(kubectl get -A certificates -o name)"
kubectl create namespace "$CM_NS" >/dev/null
kubectl label namespace "$CM_NS" pod-security.kubernetes.io/enforce=restricted >/dev/null
# This run's images, and the frontend's Service without its NodePort: default's pair holds 30080
# (node ports belong to the cluster). The GETs below go through the API server's service proxy.
CM_OVERLAY=$(overlay k8s/cert-manager)
cat >>"$CM_OVERLAY/kustomization.yaml" <<EOF
patches:
  - target:
      kind: Service
      name: frontend-service
    patch: |-
      - op: replace
        path: /spec/type
        value: ClusterIP
      - op: remove
        path: /spec/ports/0/nodePort
EOF
cm() { NAMESPACE=$CM_NS CERT_MANAGER_DIR=$CM_OVERLAY bash scripts/cert-manager.sh "$@"; }
cm render >"$WORK/cert-manager.yaml" || fail "bash scripts/cert-manager.sh render for $CM_NS"
out=$(kubectl apply --dry-run=server -o json -f "$WORK/cert-manager.yaml" 2>&1) || fail "kubectl apply --dry-run=server of k8s/cert-manager for $CM_NS: $out"
cm_objects=$(jq '[.items[] | select(.apiVersion | startswith("cert-manager.io/"))] | length' <<<"$out")
[ "$cm_objects" = 5 ] && pass "kubectl apply --dry-run=server of k8s/cert-manager for $CM_NS: the API server accepts its 2 Issuers and 3 Certificates under cert-manager v1.20.3's schemas" ||
  fail "k8s/cert-manager: $cm_objects cert-manager objects accepted, want 5: $out"
# Every object lands in $CM_NS, and the certificates name it: the Service's four names, the
# frontend's SPIFFE identity in that namespace.
expect "k8s/cert-manager for $CM_NS: all $(jq '.items | length' <<<"$out") objects in $CM_NS; backend-tls names backend-service.$CM_NS(.svc(.cluster.local)), frontend-tls spiffe://cluster.local/ns/$CM_NS/sa/frontend" "$out" \
  '([.items[].metadata.namespace] | unique) == [$ns]
   and (.items[] | select(.kind == "Certificate" and .metadata.name == "backend-tls") | .spec.dnsNames)
       == ["backend-service", "backend-service.\($ns)", "backend-service.\($ns).svc", "backend-service.\($ns).svc.cluster.local"]
   and (.items[] | select(.kind == "Certificate" and .metadata.name == "frontend-tls") | .spec.uris)
       == ["spiffe://cluster.local/ns/\($ns)/sa/frontend"]' --arg ns "$CM_NS"
# The validation is real: the same Certificate with a usage cert-manager does not know is refused.
if out=$(sed 's/^  - server auth$/  - serving pages/' "$WORK/cert-manager.yaml" | kubectl apply --dry-run=server -f - 2>&1); then
  fail "a Certificate with usage 'serving pages' passed the server-side dry run: the CRDs do not validate: $out"
fi
grep -q 'Unsupported value: "serving pages"' <<<"$out" &&
  pass "a Certificate with an unknown usage is refused by the same dry run: $(grep -o 'spec.usages\[[0-9]*\]: Unsupported value: "serving pages"' <<<"$out")" ||
  fail "the broken Certificate was refused, but not for its usage: $out"

if [ -z "${CERT_MANAGER_CONTROLLER:-}" ]; then
  printf '\n!!!!!!!! SKIPPED: issuing with cert-manager: set CERT_MANAGER_CONTROLLER to a cert-manager controller binary (docs/tls.md says how to build one) !!!!!!!!\n\n'
else
  say "cert-manager's controller ($CERT_MANAGER_CONTROLLER, on this machine) issues backend-tls and frontend-tls in $CM_NS"
  "$CERT_MANAGER_CONTROLLER" --kubeconfig "$KUBECONFIG" --leader-elect=false --namespace="$CM_NS" \
    --cluster-resource-namespace="$CM_NS" --metrics-listen-address=127.0.0.1:0 >"$WORK/cert-manager.log" 2>&1 &
  CM_PID=$!
  # The pods wait for their Secrets (ContainerCreating) until cert-manager has written them.
  cm || fail "make cert-manager NAMESPACE=$CM_NS"
  kubectl wait -n "$CM_NS" --for=condition=Ready --timeout=120s certificate/svc2svc-ca certificate/backend-tls certificate/frontend-tls ||
    fail "cert-manager did not issue the certificates in 120s: $(kubectl get -n "$CM_NS" certificates,certificaterequests -o wide 2>&1; tail -n 30 "$WORK/cert-manager.log")"
  cn() { kubectl get secret -n "$CM_NS" "$1" -o jsonpath="{.data.$2}" | base64 -d | openssl x509 -noout -subject -serial -ext subjectAltName 2>/dev/null | paste -sd' ' -; }
  echo "backend-tls: $(cn backend-tls 'tls\.crt'); ca.crt: $(cn backend-tls 'ca\.crt')"
  echo "frontend-tls: $(cn frontend-tls 'tls\.crt')"
  cn backend-tls 'ca\.crt' | grep -q 'CN *= *svc2svc CA' || fail "backend-tls's ca.crt is not cert-manager's CA: $(cn backend-tls 'ca\.crt')"
  cn backend-tls 'tls\.crt' | grep -q "DNS:backend-service.$CM_NS.svc.cluster.local" || fail "backend-tls does not name backend-service.$CM_NS.svc.cluster.local"
  cn frontend-tls 'tls\.crt' | grep -q "URI:spiffe://cluster.local/ns/$CM_NS/sa/frontend" || fail "frontend-tls does not name the frontend's identity in $CM_NS"
  pass "cert-manager issued CA svc2svc-ca and the Secrets backend-tls and frontend-tls in $CM_NS, naming $CM_NS"
  rollout "$CM_NS" backend-deployment
  rollout "$CM_NS" frontend-deployment
  # The frontend, through the API server's service proxy (kube-router lets the node's traffic in).
  proxy=/api/v1/namespaces/$CM_NS/services/frontend-service:http/proxy/
  await_answer '.backend.namespace == $ns' --arg ns "$CM_NS" -- kubectl get --raw "$proxy"
  echo "$json"
  expect "make cert-manager NAMESPACE=$CM_NS: GET / answers from a backend pod in $CM_NS over mutual TLS (TLS_ALLOWED_CLIENTS names $CM_NS), cert-manager's certificates on both sides" "$json" \
    '.discovery.scheme == "https" and .backend.namespace == $ns and (.backend.pod | IN($pods[]))' \
    --arg ns "$CM_NS" --argjson pods "$(ready_pods "$CM_NS" backend)"
  kill "$CM_PID" 2>/dev/null || true
  wait "$CM_PID" 2>/dev/null || true
  CM_PID=
fi
# The namespace goes while the next sections run (cleanup waits for it); the CRDs go with it.
kubectl delete namespace "$CM_NS" --wait=false >/dev/null
kubectl delete --ignore-not-found --wait=true -f "$CM_CRDS" >/dev/null
