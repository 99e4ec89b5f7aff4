use idemgate::retry_policy;

#[derive(Debug, Clone)]
pub enum E {
    Transient,
    Fatal,
}

fn transient(e: &E) -> bool {
    matches!(e, E::Transient)
}

#[retry_policy(max_attempts = 3, retry_on = transient, breaker = "psp")]
pub async fn charge(x: &str) -> Result<String, E> {
    let _ = E::Fatal;
    Ok(x.to_owned())
}

fn main() {}
