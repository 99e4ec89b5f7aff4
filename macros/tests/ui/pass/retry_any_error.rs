//! A policy without a breaker never refuses before the first attempt, so its error type needs
//! no `From<idemgate::Error>` — with `retry_on` or with `Retryable`.
use idemgate::retry_policy;

#[derive(Debug, Clone)]
pub enum E {
    Transient,
    Fatal,
}

fn transient(e: &E) -> bool {
    matches!(e, E::Transient)
}

impl idemgate::Retryable for E {
    fn retryability(&self) -> idemgate::Retryability {
        match self {
            E::Transient => idemgate::Retryability::Transient,
            E::Fatal => idemgate::Retryability::Permanent,
        }
    }
}

pub struct Client;

impl Client {
    #[retry_policy(max_attempts = 3, base = "1ms", cap = "5ms", retry_on = transient)]
    pub async fn flaky(&self, x: &str) -> Result<String, E> {
        Ok(x.to_owned())
    }

    #[retry_policy(max_attempts = 3, budget = "none")]
    pub async fn classified(&self) -> Result<u8, E> {
        Err(E::Fatal)
    }
}

/// With a breaker the error type must say "refused"; `retry_on` still classifies.
#[derive(Debug)]
pub struct Refusable;

impl From<idemgate::Error> for Refusable {
    fn from(_: idemgate::Error) -> Self {
        Refusable
    }
}

#[retry_policy(breaker = "ui.any", retry_on = |_: &Refusable| true)]
pub async fn guarded() -> Result<u8, Refusable> {
    Ok(1)
}

fn main() {}
