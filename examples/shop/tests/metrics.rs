//! `shop`'s `GET /metrics`: the checks of `served/metrics.rs` (shop-actix runs the same file).
#![allow(clippy::unwrap_used, clippy::expect_used)]

const BIN: &str = env!("CARGO_BIN_EXE_shop");

#[path = "served/metrics.rs"]
mod metrics;
