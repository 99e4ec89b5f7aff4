use crate::engine::Outcome;
pub fn render(_o: &Outcome, _color: bool) -> String {
    String::new()
}
