use idemgate_macros::retry_policy;

#[retry_policy(max_attempts = 0, base = "1x", timeout = "1s")]
async fn call() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
