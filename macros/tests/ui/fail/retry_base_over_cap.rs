use idemgate_macros::retry_policy;

#[retry_policy(base = "10s", cap = "5s", budget = "payments")]
async fn call() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
