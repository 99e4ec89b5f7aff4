use idemgate_macros::idempotent;

#[idempotent(key = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))]
async fn send(order_id: &str) -> Result<u32, String> {
    let _ = order_id;
    Ok(1)
}

fn main() {}
