use idemgate_macros::retry_policy;

#[retry_policy(max_elapsed = "10s", max_elapsed = "10s", budget = "payments")]
async fn call() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
