//! `shop` processes sharing one PostgreSQL: the fleet tests of `fleet/postgres.rs` (shop-actix
//! runs the same file against its own binary).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../runtime/tests/stores_support/mod.rs"]
mod stores_support;

const BIN: &str = env!("CARGO_BIN_EXE_shop");

#[path = "fleet/postgres.rs"]
mod postgres;
