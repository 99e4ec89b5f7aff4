use idemgate_macros::idempotent;

#[idempotent(natural_key = "order_id", natural_key = "order_id")]
async fn send(order_id: &str) -> Result<u32, String> {
    let _ = order_id;
    Ok(1)
}

fn main() {}
