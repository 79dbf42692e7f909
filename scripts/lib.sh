# lib.sh is sourced by scripts/e2e.sh and scripts/e2e-load.sh: how a check reports. Each script
# sets START (its start, in seconds since 1970), PASSED=0 and SAY_PREFIX, and defines
# dump_context, which fail calls once so that a FAIL explains itself.
# shellcheck shell=bash

# say prints a section heading with the seconds since START.
say() { printf '\n=== %s[%3ss] %s\n' "${SAY_PREFIX:-}" "$(($(date +%s) - START))" "$*"; }

# pass counts and prints a check that held.
pass() { PASSED=$((PASSED + 1)); printf 'PASS %s\n' "$*"; }

# fail prints a check that did not hold, the context, and ends the script.
fail() {
  printf 'FAIL %s\n' "$*"
  dump_context
  exit 1
}

# on_err turns any unexpected failing command (set -E with an ERR trap) into a FAIL.
on_err() { fail "unexpected error (exit $1) at line $2: $3"; }
