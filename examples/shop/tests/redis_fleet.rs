//! `shop` processes sharing one Redis: the fleet tests of `fleet/redis.rs` (shop-actix runs
//! the same file against its own binary).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../runtime/tests/stores_support/mod.rs"]
mod stores_support;

const BIN: &str = env!("CARGO_BIN_EXE_shop");

#[path = "fleet/redis.rs"]
mod redis;
