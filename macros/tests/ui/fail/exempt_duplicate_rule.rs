use idemgate_macros::exempt;

#[exempt(IDEM001, IDEM001, reason = "a")]
fn handler() {}

fn main() {
    handler();
}
