//! `cargo fuzz run canonical_json`: see fuzz/README.md. The properties live in
//! runtime/tests/props, shared with the bounded `fuzz_lite` test.
#![no_main]

#[path = "../../runtime/tests/props/mod.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| props::canonical(data));
