//! `shop-actix` processes sharing one PostgreSQL (`IDEMGATE_DATABASE_URL`: orders in the
//! idempotency record's transaction): the same fleet tests as `shop`'s, against this binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../runtime/tests/stores_support/mod.rs"]
mod stores_support;

const BIN: &str = env!("CARGO_BIN_EXE_shop-actix");

#[path = "../../shop/tests/fleet/postgres.rs"]
mod postgres;
