use idemgate_macros::idempotent;

#[idempotent(key = parts("charge", order_id, Uuid::new_v4()))]
async fn charge(order_id: &str) -> Result<u32, String> {
    let _ = order_id;
    Ok(1)
}

fn main() {}
