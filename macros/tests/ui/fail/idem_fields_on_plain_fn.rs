use idemgate_macros::idempotent;

#[idempotent(key = parts("charge", order_id), fingerprint = fields("amount"))]
async fn charge(order_id: &str, amount: u64) -> Result<u64, String> {
    let _ = order_id;
    Ok(amount)
}

fn main() {}
