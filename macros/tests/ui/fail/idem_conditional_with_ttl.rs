use idemgate_macros::idempotent;

#[idempotent(conditional, ttl = "1h")]
async fn update(version: u64) -> Result<u64, String> {
    Ok(version + 1)
}

fn main() {}
