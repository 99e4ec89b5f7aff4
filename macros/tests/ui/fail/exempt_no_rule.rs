use idemgate_macros::exempt;

#[exempt(reason = "reviewed")]
fn handler() {}

fn main() {
    handler();
}
