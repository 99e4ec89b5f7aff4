use idemgate_macros::idempotent;

#[idempotent(key = header("Idempotency-Key"))]
async fn create<T: Send>(body: T) -> T {
    body
}

fn main() {}
