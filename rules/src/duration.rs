//! Durations as users write them, in config files, policy attributes and OpenAPI documents: the
//! one syntax of `idemgate_grammar::duration`, which the macros compile with too (`200ms`,
//! `1m 30s`, `2w`, ISO 8601 `P1D`; no bare numbers, years or months).

pub use idemgate_grammar::duration::{parse, parse_millis, DurationError, SYNTAX};

/// The duration `text` denotes, in whole seconds (rounded down).
pub fn parse_seconds(text: &str) -> Option<u64> {
    parse_millis(text).map(|ms| ms / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("7d"), Some(604_800));
        assert_eq!(parse_seconds("2 weeks"), Some(1_209_600));
        assert_eq!(parse_seconds("P1DT12H"), Some(129_600));
        assert_eq!(parse_seconds("1500ms"), Some(1));
        assert_eq!(parse_seconds("5"), None);
    }
}
