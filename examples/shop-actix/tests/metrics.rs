//! `shop-actix`'s `GET /metrics`: the same checks as `shop`'s, against this binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

const BIN: &str = env!("CARGO_BIN_EXE_shop-actix");

#[path = "../../shop/tests/served/metrics.rs"]
mod metrics;
