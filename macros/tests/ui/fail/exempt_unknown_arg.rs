use idemgate_macros::exempt;

#[exempt(IDEM001, reason = "reviewed", until = "2027")]
fn handler() {}

fn main() {
    handler();
}
