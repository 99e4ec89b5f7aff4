use idemgate::idempotent;

#[idempotent(key = format!("{tenant}:{id}"), scope = tenant, ttl = "1h")]
pub async fn plain(tenant: &str, id: u64) -> Result<Vec<String>, String> {
    Ok(vec![format!("{tenant}{id}")])
}

#[idempotent(natural_key = "event_id")]
async fn natural(event_id: u64) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let _ = event_id;
    Ok(())
}

#[idempotent(conditional)]
async fn compare_and_set(version: u64) -> Result<u64, String> {
    Ok(version + 1)
}

fn main() {
    let _ = plain("t", 1);
    let _ = natural(1);
    let _ = compare_and_set(1);
}
