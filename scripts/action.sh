#!/usr/bin/env bash
# The shell steps of the idemgate GitHub Action (action.yml), kept here so they can be run
# and tested locally. Inputs come as INPUT_* environment variables, as action.yml passes them.
#
#   scripts/action.sh cache-key   prints key=… (to $GITHUB_OUTPUT when set): the prebuilt-binary
#                                 cache key, a hash of the gate's sources, OS and architecture
#   scripts/action.sh install     builds the gate into $IDEMGATE_HOME/bin (cargo install)
#   scripts/action.sh run         runs the gate: SARIF to $INPUT_SARIF_FILE (when INPUT_SARIF is
#                                 true), annotations (or the human report) on stdout; exits
#                                 with the gate's status (0 pass, 1 findings, 2 error)
#
# Inputs: INPUT_PATHS (space-separated, default "."), INPUT_CONFIG, INPUT_BASELINE,
# INPUT_FAIL_LEVEL, INPUT_CHANGED_SINCE (a revision; empty = the whole tree), INPUT_SARIF
# (true/false), INPUT_SARIF_FILE, INPUT_ANNOTATIONS (true/false).
# IDEMGATE_BIN overrides the binary (default $IDEMGATE_HOME/bin/idemgate).
set -euo pipefail

action_dir="${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}"
home="${IDEMGATE_HOME:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/idemgate}"

output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "$1" >>"$GITHUB_OUTPUT"
  fi
  echo "$1"
}

cache_key() {
  local hash
  # the sources the binary is built from: a change to any of them is a new binary
  local -a sources=()
  local s
  for s in Cargo.toml Cargo.lock lint rules grammar; do
    if [ -e "$action_dir/$s" ]; then sources+=("$s"); fi
  done
  hash=$(
    cd "$action_dir" &&
      find "${sources[@]}" -type f \
        \( -name '*.rs' -o -name 'Cargo.toml' -o -name 'Cargo.lock' \) \
        -not -path '*/tests/*' -not -path '*/benches/*' |
      LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16
  )
  output "key=idemgate-$(uname -s)-$(uname -m)-$hash"
}

install() {
  cargo install --locked --path "$action_dir/lint" --root "$home" --bin idemgate --force
}

run() {
  local bin="${IDEMGATE_BIN:-$home/bin/idemgate}"
  if [ ! -x "$bin" ]; then
    echo "idemgate action: no gate binary at $bin (did the install step run?)" >&2
    exit 2
  fi
  local -a args=(check)
  local -a paths
  read -r -a paths <<<"${INPUT_PATHS:-.}"
  if [ ${#paths[@]} -eq 0 ]; then paths=(.); fi
  args+=("${paths[@]}")
  if [ -n "${INPUT_CONFIG:-}" ]; then args+=(--config "$INPUT_CONFIG"); fi
  if [ -n "${INPUT_BASELINE:-}" ]; then args+=(--baseline "$INPUT_BASELINE"); fi
  if [ -n "${INPUT_FAIL_LEVEL:-}" ]; then args+=(--fail-level "$INPUT_FAIL_LEVEL"); fi
  local rev="${INPUT_CHANGED_SINCE:-}"
  if [ -n "$rev" ]; then
    # a shallow checkout may not hold the base: fetch it (and enough history for a merge base)
    if ! git rev-parse --verify --quiet "$rev^{commit}" >/dev/null; then
      git fetch --no-tags --quiet --depth=200 origin "$rev" || true
    fi
    args+=(--changed-since "$rev")
  fi

  if [ "${INPUT_SARIF:-true}" = "true" ]; then
    local sarif="${INPUT_SARIF_FILE:-idemgate.sarif}"
    local code=0
    "$bin" "${args[@]}" --format sarif --output "$sarif" || code=$?
    if [ "$code" -ge 2 ]; then
      exit "$code"
    fi
    output "sarif-file=$sarif"
  fi
  local format=human
  if [ "${INPUT_ANNOTATIONS:-true}" = "true" ]; then format=github; fi
  local status=0
  NO_COLOR=1 "$bin" "${args[@]}" --format "$format" || status=$?
  output "exit-code=$status"
  exit "$status"
}

case "${1:-}" in
  cache-key) cache_key ;;
  install) install ;;
  run) run ;;
  *)
    echo "usage: scripts/action.sh cache-key|install|run" >&2
    exit 2
    ;;
esac
