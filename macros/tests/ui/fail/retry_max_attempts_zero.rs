use idemgate_macros::retry_policy;

#[retry_policy(max_attempts = 0, budget = "payments")]
async fn call() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
