use idemgate_macros::idempotent;

const AMOUNT: &str = "amount";

#[idempotent(key = header("Idempotency-Key"), fingerprint = fields(AMOUNT, "currency"), scope = none)]
async fn pay(body: String) -> String {
    body
}

#[idempotent(key = header("Idempotency-Key"), fingerprint = fields(), scope = none)]
async fn refund(body: String) -> String {
    body
}

#[idempotent(key = header("Idempotency-Key"), fingerprint = fields("amount", "amount"), scope = none)]
async fn capture(body: String) -> String {
    body
}

fn main() {}
