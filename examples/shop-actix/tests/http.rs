//! The `shop-actix` binary on an ephemeral port, driven over real HTTP on loopback: the same
//! contract and the same tests as `shop` (axum).
#![allow(clippy::unwrap_used, clippy::expect_used)]

const BIN: &str = env!("CARGO_BIN_EXE_shop-actix");
const NAME: &str = "shop-actix";

#[path = "../../shop/tests/contract/mod.rs"]
mod contract;
