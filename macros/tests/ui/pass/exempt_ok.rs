use idemgate_macros::exempt;

#[exempt(IDEM001, reason = "compare-and-set on booking.version; see ADR-12")]
fn book() -> u32 {
    1
}

#[exempt(RETRY001, RETRY003, reason = "polls a job status; a failed poll is not retried")]
async fn poll() {}

fn main() {
    let _ = book();
    let _ = poll();
}
