use idemgate_macros::exempt;

#[exempt(IDEM001, reason = 42)]
fn handler() {}

fn main() {
    handler();
}
