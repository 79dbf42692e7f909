#!/usr/bin/env bash
# cert-manager.sh applies k8s/cert-manager/ into one namespace of the current kube context.
#
# Why a script and not `kubectl apply -n <ns> -k`: the certificates name their namespace
# (backend-service.<ns>.svc..., spiffe://cluster.local/ns/<ns>/sa/frontend), and kustomize never
# sees the namespace kubectl's -n gives. So this writes a small overlay, in a temporary folder,
# that sets `namespace:` and has kustomize copy that namespace into the names (its replacements
# run after its namespace transformer, in the same kustomization). The overlay is printed with
# `overlay`: a GitOps repository keeps that file, with its own namespace and path.
#
#   make cert-manager                    # = bash scripts/cert-manager.sh: the current namespace (or default)
#   make cert-manager NAMESPACE=demo     # another namespace
#   bash scripts/cert-manager.sh render  # print the manifests instead of applying them
#   bash scripts/cert-manager.sh overlay # print the overlay
#
# Environment: NAMESPACE; CERT_MANAGER_DIR, the kustomization to apply (default k8s/cert-manager;
# absolute or from the repository root: the e2e passes its own that sets the images' tags).
# apply needs cert-manager in the cluster: without its CRDs, or without the namespace, it stops
# before applying anything.
set -euo pipefail
cd "$(dirname "$0")/.."

action=${1:-apply}
case $action in
  apply | render | overlay) ;;
  *) echo "cert-manager.sh: unknown action '$action': want apply, render or overlay" >&2; exit 2 ;;
esac
command -v kubectl >/dev/null || { echo "kubectl is required" >&2; exit 1; }
if [ -z "${NAMESPACE:-}" ]; then
  kubectl config current-context >/dev/null 2>&1 ||
    { echo "no current kube context and no NAMESPACE (the lab is not up? export KUBECONFIG=/var/lib/kube-lab/kubeconfig)" >&2; exit 1; }
  NAMESPACE=$(kubectl config view --minify -o jsonpath='{..namespace}')
  NAMESPACE=${NAMESPACE:-default}
fi
# A namespace is a DNS label: anything else would make names no certificate can carry.
[[ $NAMESPACE =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] ||
  { echo "cert-manager.sh: NAMESPACE '$NAMESPACE' is not a namespace name (lowercase letters, digits and '-', at most 63)" >&2; exit 2; }
src=${CERT_MANAGER_DIR:-k8s/cert-manager}
[ -d "$src" ] || { echo "cert-manager.sh: CERT_MANAGER_DIR '$src' is not a folder" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=scripts/kustomize-path.sh
. scripts/kustomize-path.sh
rel=$(kustomize_path "$tmp" "$src")
cat >"$tmp/kustomization.yaml" <<EOF
# k8s/cert-manager in namespace $NAMESPACE: the names its Certificates carry follow the namespace.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $NAMESPACE
resources:
  - $rel
replacements:
  - source:
      kind: Certificate
      name: backend-tls
      fieldPath: metadata.namespace
    targets:
      - select:
          kind: Certificate
          name: backend-tls
        fieldPaths: [spec.dnsNames.1, spec.dnsNames.2, spec.dnsNames.3]
        options:
          delimiter: "."
          index: 1
      - select:
          kind: Certificate
          name: frontend-tls
        fieldPaths: [spec.uris.0]
        options:
          delimiter: "/"
          index: 4
EOF
if [ "$action" = overlay ]; then
  sed "s|^  - $rel\$|  - $src # the path from your overlay|" "$tmp/kustomization.yaml"
  exit 0
fi

out=$(kubectl kustomize "$tmp")
# The placeholder names in k8s/cert-manager/certificates.yaml must all be gone.
if grep -nw 'NAMESPACE' <<<"$out" >&2; then
  echo "cert-manager.sh: the lines above still carry the placeholder NAMESPACE: $src's Certificates no longer match the replacements here" >&2
  exit 1
fi
if [ "$action" = render ]; then
  printf '%s\n' "$out"
  exit 0
fi

kubectl get namespace "$NAMESPACE" >/dev/null 2>&1 ||
  { echo "cert-manager.sh: namespace '$NAMESPACE' does not exist: kubectl create namespace $NAMESPACE" >&2; exit 1; }
kubectl get crd certificates.cert-manager.io issuers.cert-manager.io >/dev/null 2>&1 || {
  echo "cert-manager.sh: cert-manager is not installed in this cluster (no Certificate or Issuer CRD); install it first:" >&2
  echo "  kubectl apply -f https://github.com/cert-manager/cert-manager/releases/download/v1.20.3/cert-manager.yaml" >&2
  exit 1
}
printf '%s\n' "$out" | kubectl apply -f -
echo "cert-manager issues backend-tls and frontend-tls in $NAMESPACE: kubectl wait -n $NAMESPACE --for=condition=Ready certificate --all"
