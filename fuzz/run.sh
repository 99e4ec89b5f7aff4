#!/usr/bin/env bash
# Fuzzes every target for a bounded time: fuzz/run.sh [SECONDS_PER_TARGET] (default 60).
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and libFuzzer's nightly flags. Without a nightly
# toolchain, RUSTC_BOOTSTRAP=1 lets a stable rustc accept them (set here unless a nightly is
# the active toolchain). Without cargo-fuzz it runs the bounded proptest "fuzz-lite" instead,
# which checks the same properties in plain `cargo test`, and says so.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
targets=(key_builder key_header canonical_json)

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz/run.sh: cargo-fuzz not found; running the bounded fuzz-lite test instead" >&2
  cd ..
  exec cargo test -p idemgate --all-features --test fuzz_lite
fi

if ! rustc --version | grep -q nightly; then
  export RUSTC_BOOTSTRAP=1
fi

for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "== $target: ${seconds}s"
  # A crash leaves its input in artifacts/<target>/ and fails the script.
  cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=4096
done
