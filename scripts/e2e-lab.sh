#!/usr/bin/env bash
# e2e-lab.sh runs scripts/e2e.sh against this machine's kube-lab cluster (../shared/kube-lab,
# see its README): it points kubectl at the lab, puts the lab's kubectl, kind stand-in and
# skaffold on PATH, creates local stand-ins for the Dockerfiles' base images (no registry is
# reachable here) and loads images with the lab's loader. skaffold renders k8s/ with kustomize:
# with no kustomize binary it falls back to `kubectl kustomize`, but only for a kubectl that
# reports a version (>= 1.14), and the lab's, built from source, reports none; so a kustomize
# stand-in that runs `kubectl kustomize` goes on PATH too, unless a real kustomize is there. Start the lab first with
# ../shared/kube-lab/up (and ../shared/kube-lab/build-tools skaffold for the skaffold check).
#   bash scripts/e2e-lab.sh          # extra arguments and environment pass through to e2e.sh
set -euo pipefail
cd "$(dirname "$0")/.."

LAB=${KUBE_LAB:-../shared/kube-lab}
LAB_KUBECONFIG=/var/lib/kube-lab/kubeconfig
[ -x "$LAB/load" ] || { echo "no kube-lab at $LAB (set KUBE_LAB)" >&2; exit 1; }
[ -f "$LAB_KUBECONFIG" ] || { echo "the lab is not up: run $LAB/up first" >&2; exit 1; }

export KUBECONFIG=${KUBECONFIG:-$LAB_KUBECONFIG}
LAB_BIN=$(cd "$LAB/bin" && pwd)
export PATH=$LAB_BIN:/var/cache/kube-lab/bin:$PATH
export IMAGE_LOADER=${IMAGE_LOADER:-$LAB/load}
# The lab enforces NetworkPolicies (kube-router), so the e2e probes them.
export E2E_NETPOL_ENFORCED=${E2E_NETPOL_ENFORCED:-1}
# The lab builds skaffold on request: require it once it is there, skip (loudly) until then.
if command -v skaffold >/dev/null; then export E2E_REQUIRE_SKAFFOLD=${E2E_REQUIRE_SKAFFOLD:-1}; fi

if ! command -v kustomize >/dev/null; then
  STAND_INS=$(mktemp -d)
  trap 'rm -rf "$STAND_INS"' EXIT
  cat >"$STAND_INS/kustomize" <<'EOF'
#!/bin/sh
# skaffold runs `kustomize build DIR [ARGS]`; `kubectl kustomize DIR [ARGS]` is the same build.
[ "$1" = build ] && shift
exec kubectl kustomize "$@"
EOF
  chmod +x "$STAND_INS/kustomize"
  export PATH=$STAND_INS:$PATH
fi

"$LAB/stand-in-images" Dockerfile.frontend Dockerfile.backend tools/Dockerfile.flood
bash scripts/e2e.sh "$@"
