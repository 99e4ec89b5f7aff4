use idemgate_macros::idempotent;

#[idempotent(key = header("Idempotency-Key"), fingerprint = b"x", scope = none)]
async fn create(body: String) -> String {
    body
}

fn main() {}
