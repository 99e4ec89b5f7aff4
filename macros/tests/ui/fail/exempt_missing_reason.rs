use idemgate_macros::exempt;

#[exempt(IDEM001)]
fn handler() {}

fn main() {
    handler();
}
