//! A simulated payment provider (think Stripe): ~50 ms per call, occasionally failing, and
//! idempotent by the key the caller sends — a retried charge with the same key returns the
//! first charge instead of charging twice. Its failure rate can be changed while the shop runs
//! ([`PaymentProvider::set_failure_rate`], `PUT /admin/payment-provider`) to stage an outage.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use idemgate::{retry_policy, Retryability, Retryable};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

thread_local! {
    static ROLL: std::cell::RefCell<SmallRng> = std::cell::RefCell::new(SmallRng::from_os_rng());
}

/// A completed charge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Charge {
    /// The provider's id for the charge.
    pub id: String,
    /// Amount in cents.
    pub amount_cents: u64,
}

/// How a call to the provider failed.
#[derive(Debug)]
pub enum PaymentError {
    /// 503 before anything happened.
    Unavailable,
    /// The charge went through but the answer was lost (the dangerous case: only the
    /// idempotency key makes the retry safe).
    Timeout,
    /// The card was declined; retrying does not help.
    Declined,
    /// idemgate refused the call (breaker open, budget exhausted).
    Refused(idemgate::Error),
}

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PaymentError::Unavailable => f.write_str("payment provider unavailable"),
            PaymentError::Timeout => f.write_str("payment provider timed out"),
            PaymentError::Declined => f.write_str("payment declined"),
            PaymentError::Refused(e) => write!(f, "payment not attempted: {e}"),
        }
    }
}

impl Retryable for PaymentError {
    fn retryability(&self) -> Retryability {
        match self {
            PaymentError::Unavailable | PaymentError::Timeout => Retryability::Transient,
            PaymentError::Declined | PaymentError::Refused(_) => Retryability::Permanent,
        }
    }
}

impl From<idemgate::Error> for PaymentError {
    fn from(e: idemgate::Error) -> Self {
        PaymentError::Refused(e)
    }
}

/// The provider's side: charges by idempotency key.
#[derive(Debug)]
pub struct PaymentProvider {
    charges: Mutex<HashMap<String, Charge>>,
    /// The share of calls that fail, as `f64` bits (changed at run time to stage an outage).
    failure_rate: AtomicU64,
    latency: Duration,
    calls: AtomicU64,
}

impl PaymentProvider {
    /// A provider that fails `failure_rate` of calls (half before charging, half after).
    pub fn new(failure_rate: f64, latency: Duration) -> Self {
        PaymentProvider {
            charges: Mutex::new(HashMap::new()),
            failure_rate: AtomicU64::new(clamp_rate(failure_rate).to_bits()),
            latency,
            calls: AtomicU64::new(0),
        }
    }

    /// The share of calls that fail now.
    pub fn failure_rate(&self) -> f64 {
        f64::from_bits(self.failure_rate.load(Ordering::Relaxed))
    }

    /// Changes the share of calls that fail (clamped to 0–1; not a number counts as 0): 1.0 is
    /// an outage, 0.0 a recovery.
    pub fn set_failure_rate(&self, failure_rate: f64) {
        self.failure_rate
            .store(clamp_rate(failure_rate).to_bits(), Ordering::Relaxed);
    }

    /// Calls received (attempts included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Distinct charges made.
    pub fn charges(&self) -> usize {
        self.charges.lock().map(|c| c.len()).unwrap_or_default()
    }

    /// One call: `POST /charges` with `Idempotency-Key: key`.
    async fn charge(
        &self,
        idempotency_key: &str,
        amount_cents: u64,
    ) -> Result<Charge, PaymentError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(self.latency).await;
        let roll: f64 = ROLL.with(|rng| rng.borrow_mut().random());
        let failure_rate = self.failure_rate();
        if roll < failure_rate / 2.0 {
            return Err(PaymentError::Unavailable);
        }
        let charge = {
            let mut charges = match self.charges.lock() {
                Ok(charges) => charges,
                Err(poisoned) => poisoned.into_inner(),
            };
            let next = charges.len() + 1;
            charges
                .entry(idempotency_key.to_owned())
                .or_insert_with(|| Charge {
                    id: format!("ch_{next:06}"),
                    amount_cents,
                })
                .clone()
        };
        if roll < failure_rate {
            return Err(PaymentError::Timeout);
        }
        Ok(charge)
    }
}

fn clamp_rate(rate: f64) -> f64 {
    if rate.is_nan() {
        0.0
    } else {
        rate.clamp(0.0, 1.0)
    }
}

/// Charges under the shop's payment policy. The key is stable across attempts and across the
/// client's own retries (it is derived from the client's idempotency key), so the provider
/// charges once however often this runs.
#[retry_policy(
    max_attempts = 4,
    base = "25ms",
    cap = "500ms",
    max_elapsed = "3s",
    jitter = "full",
    budget = "payments",
    breaker = "psp"
)]
pub async fn charge(
    provider: &PaymentProvider,
    payment_key: &str,
    amount_cents: u64,
) -> Result<Charge, PaymentError> {
    provider.charge(payment_key, amount_cents).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stable_key_makes_retries_charge_once() {
        // Every call charges and then loses the answer: the worst case for retries.
        let provider = PaymentProvider::new(1.0, Duration::from_millis(50));
        let result = charge(&provider, "shop:acme:k1", 1999).await;
        assert!(matches!(
            result,
            Err(PaymentError::Timeout) | Err(PaymentError::Unavailable)
        ));
        assert!(provider.calls() > 1, "transient failures are retried");
        assert!(provider.charges() <= 1, "one key, at most one charge");
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_can_be_staged_and_ended() {
        let provider = PaymentProvider::new(0.0, Duration::from_millis(1));
        assert!(charge(&provider, "k-up", 1).await.is_ok());
        provider.set_failure_rate(1.0);
        assert_eq!(provider.failure_rate(), 1.0);
        assert!(charge(&provider, "k-down", 1).await.is_err());
        provider.set_failure_rate(f64::NAN);
        assert_eq!(provider.failure_rate(), 0.0);
        provider.set_failure_rate(7.0);
        assert_eq!(provider.failure_rate(), 1.0);
    }

    #[tokio::test(start_paused = true)]
    async fn declines_are_not_retried() {
        let provider = PaymentProvider::new(0.0, Duration::from_millis(1));
        assert!(charge(&provider, "k", 1).await.is_ok());
        assert_eq!(provider.calls(), 1);
        assert_eq!(
            PaymentError::Declined.retryability(),
            Retryability::Permanent
        );
    }
}
