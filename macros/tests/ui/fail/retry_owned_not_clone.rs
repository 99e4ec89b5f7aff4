use idemgate::retry_policy;

struct Payload(Vec<u8>);

#[retry_policy(max_attempts = 3, budget = "none")]
async fn send(payload: Payload) -> Result<usize, idemgate::Error> {
    Ok(payload.0.len())
}

fn main() {
    let _ = send(Payload(Vec::new()));
}
