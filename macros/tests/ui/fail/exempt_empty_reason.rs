use idemgate_macros::exempt;

#[exempt(IDEM001, reason = "  ")]
fn handler() {}

fn main() {
    handler();
}
