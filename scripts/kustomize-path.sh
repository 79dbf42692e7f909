# shellcheck shell=bash
# kustomize-path.sh is sourced by scripts/cert-manager.sh and scripts/e2e.sh, which both write a
# kustomization outside the repository that builds a folder of k8s/.

# kustomize_path FROM TO prints the path by which a kustomization in folder FROM names folder
# TO: relative, since kustomize refuses absolute ones, so up to / and down again; and physical,
# since kustomize resolves symbolic links (macOS's /tmp is one) before it follows a relative
# path. No realpath --relative-to: macOS has none.
kustomize_path() {
  local d up=''
  d=$(cd "$1" && pwd -P)
  while [ "$d" != / ]; do
    up+=../
    d=$(dirname "$d")
  done
  printf '%s%s\n' "$up" "$(cd "$2" && pwd -P | cut -c2-)"
}
