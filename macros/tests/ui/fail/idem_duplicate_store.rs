use idemgate_macros::idempotent;

#[idempotent(key = order_id, store = my_store(), store = my_store())]
async fn send(order_id: &str) -> Result<u32, String> {
    let _ = order_id;
    Ok(1)
}

fn main() {}
