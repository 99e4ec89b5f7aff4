use idemgate_macros::idempotent;

// An HTTP handler with no `scope` and no `Principal` parameter: every request would get 401
// `caller-unidentified`, so whose keys these are must be said.
#[idempotent(key = header("Idempotency-Key"), ttl = "24h")]
async fn create_order(body: String) -> String {
    body
}

fn main() {}
