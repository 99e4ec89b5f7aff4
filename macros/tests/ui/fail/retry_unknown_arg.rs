use idemgate_macros::retry_policy;

#[retry_policy(attempts = 3, budget = "payments")]
async fn call() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
