use idemgate_macros::retry_policy;

#[retry_policy(cap = "0s", budget = "payments")]
async fn call() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
