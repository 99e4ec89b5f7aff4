//! `shop-actix` processes sharing one Redis (`IDEMGATE_REDIS_URL`): the same fleet tests as
//! `shop`'s, against this binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../runtime/tests/stores_support/mod.rs"]
mod stores_support;

const BIN: &str = env!("CARGO_BIN_EXE_shop-actix");

#[path = "../../shop/tests/fleet/redis.rs"]
mod redis;
