//! Forms the gate reads and the macros once refused (issue 10): an exemption from a GATE rule,
//! and every duration syntax of `idemgate_grammar::duration` (weeks, spaces, ISO 8601).
use idemgate::{exempt, idempotent, retry_policy};

#[derive(Debug)]
struct E;

impl idemgate::Retryable for E {
    fn retryability(&self) -> idemgate::Retryability {
        idemgate::Retryability::Transient
    }
}

impl From<idemgate::Error> for E {
    fn from(_: idemgate::Error) -> Self {
        E
    }
}

#[exempt(GATE002, reason = "the router is built by a macro the gate cannot expand")]
fn router() -> u8 {
    1
}

#[exempt(SPEC003, reason = "internal route, not part of the public contract")]
fn internal() -> u8 {
    2
}

#[retry_policy(base = "1m 30s", cap = "2w", max_elapsed = "P1D", budget = "none")]
async fn spaced() -> Result<u8, E> {
    Ok(1)
}

#[retry_policy(base = "PT1M30S", cap = "1h30m", budget = "none")]
async fn iso() -> Result<u8, E> {
    Ok(1)
}

#[idempotent(key = order_id.to_string(), ttl = "2 weeks", lease = "PT90S")]
async fn charge(order_id: u64) -> Result<u64, E> {
    Ok(order_id)
}

fn main() {
    let _ = (router(), internal());
    let _ = (spaced(), iso(), charge(1));
}
