#!/usr/bin/env bash
# need.sh PACKAGE [COMMAND...] installs Debian's PACKAGE with apt-get unless one of the COMMANDs
# (default: PACKAGE) is on PATH, so a fresh machine needs no set-up step of its own: `make test`
# gets the browser its browser test drives this way. It uses sudo when not root, and runs
# `apt-get update` only if the first install fails (a fresh machine's package lists are empty).
#   bash scripts/need.sh chromium chromium chromium-browser google-chrome google-chrome-stable
set -euo pipefail
pkg=$1
shift
[ $# -gt 0 ] || set -- "$pkg"
for cmd in "$@"; do
  command -v "$cmd" >/dev/null && exit 0
done
command -v apt-get >/dev/null || { echo "need $pkg (one of: $*), and there is no apt-get to install it: install it by hand" >&2; exit 1; }
echo "$pkg is missing: installing it with apt-get"
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
"${sudo[@]}" apt-get install -y "$pkg" >/dev/null 2>&1 ||
  { "${sudo[@]}" apt-get update >/dev/null && "${sudo[@]}" apt-get install -y "$pkg" >/dev/null; }
