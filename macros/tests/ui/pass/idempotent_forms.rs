use idemgate::idempotent;

#[idempotent(key = format!("{tenant}:{id}"), scope = tenant, ttl = "1h")]
pub async fn plain(tenant: &str, id: u64) -> Result<Vec<String>, String> {
    Ok(vec![format!("{tenant}{id}")])
}

#[idempotent(key = parts(tenant, "signup", user_id, 'x'), ttl = "15m")]
async fn signup(tenant: &str, user_id: u64) -> Result<u64, String> {
    Ok(user_id)
}

#[idempotent(key = parts(order_id))]
async fn one_part(order_id: String) -> Result<(), String> {
    let _ = order_id;
    Ok(())
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
    let _ = signup("t", 1);
    let _ = one_part(String::new());
    let _ = compare_and_set(1);
}
