use idemgate_macros::idempotent;

#[idempotent(key = header("Idempotency-Key"), scope = none)]
async fn create<T: Send>(body: T) -> T {
    body
}

fn main() {}
