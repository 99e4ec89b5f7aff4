//! The rule ids of the catalog, which `#[exempt(…)]`, `// idemgate: allow(…)` comments and config
//! exemptions name. The catalog (`idemgate-rules`) defines the rules; a test there pins this list
//! to it, so an exemption the gate honours always compiles, and the other way round.

/// Every rule id of the catalog, in catalog order.
pub const IDS: &[&str] = &[
    "IDEM001", "IDEM002", "IDEM003", "IDEM004", "IDEM005", "RETRY001", "RETRY002", "RETRY003",
    "RETRY004", "RETRY005", "RETRY006", "RETRY007", "OAS001", "OAS002", "OAS003", "OAS004",
    "OAS005", "OAS006", "SPEC001", "SPEC002", "SPEC003", "GATE001", "GATE002", "GATE003",
];

/// The families of rule ids: a prefix and three digits.
pub const PREFIXES: &[&str] = &["IDEM", "RETRY", "OAS", "SPEC", "GATE"];

/// Whether `name` has the shape of a rule id: a known prefix and three digits.
pub fn is_rule_id(name: &str) -> bool {
    PREFIXES.iter().any(|prefix| {
        name.strip_prefix(prefix)
            .is_some_and(|digits| digits.len() == 3 && digits.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Whether `id` names a rule of the catalog (any case).
pub fn is_known(id: &str) -> bool {
    IDS.iter().any(|known| known.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_has_a_known_prefix_and_every_prefix_an_id() {
        for id in IDS {
            assert!(is_rule_id(id), "{id}");
        }
        for prefix in PREFIXES {
            assert!(IDS.iter().any(|id| id.starts_with(prefix)), "{prefix}");
        }
        assert!(!is_rule_id("IDEM01"));
        assert!(!is_rule_id("FOO001"));
        assert!(is_known("gate002"));
    }
}
