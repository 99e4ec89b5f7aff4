use idemgate_macros::exempt;

#[exempt(IDEM1, reason = "reviewed")]
fn handler() {}

fn main() {
    handler();
}
