use idemgate_macros::exempt;

#[exempt(IDEM001, reason = "a", reason = "b")]
fn handler() {}

fn main() {
    handler();
}
