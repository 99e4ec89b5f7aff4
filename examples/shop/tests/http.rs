//! The `shop` binary on an ephemeral port, driven over real HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

const BIN: &str = env!("CARGO_BIN_EXE_shop");
const NAME: &str = "shop";

mod contract;
