use crate::engine::Outcome;
pub fn render(_o: &Outcome) -> String {
    String::new()
}
