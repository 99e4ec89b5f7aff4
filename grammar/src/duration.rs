//! The one duration syntax, for policy attributes, config files and OpenAPI documents alike:
//! a number and a unit (`200ms`, `5s`, `15m`, `24h`, `7d`, `2w`, or spelled out: `2 weeks`),
//! sums of them with or without spaces (`1h30m`, `1m 30s`), and ISO 8601 (`P1D`, `PT24H`,
//! `P1DT12H`, `P2W`). A bare number is refused (its unit would be a guess), and so are years and
//! months (their length varies), signs and fractions.

use std::fmt;

/// The units of the short form, with their length in milliseconds. The first spelling of each
/// is the canonical one.
pub const UNITS: &[(&[&str], u64)] = &[
    (&["ms", "msec", "millis", "milliseconds"], 1),
    (&["s", "sec", "secs", "second", "seconds"], 1_000),
    (&["m", "min", "mins", "minute", "minutes"], 60_000),
    (&["h", "hr", "hrs", "hour", "hours"], 3_600_000),
    (&["d", "day", "days"], 86_400_000),
    (&["w", "week", "weeks"], 604_800_000),
];

/// One line describing the syntax, for error messages.
pub const SYNTAX: &str = "a number and a unit (ms, s, m, h, d, w), sums like \"1m 30s\", or ISO 8601 like \"PT30S\" or \"P1D\"";

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    Empty,
    /// A unit, or something else, where a number should come first (`s`, `-5s`).
    NumberExpected,
    /// A number with no unit after it (`5`).
    UnitMissing,
    /// A unit that is not one of [`UNITS`].
    UnknownUnit(String),
    /// An ISO 8601 duration that is malformed or names years or months.
    Iso8601,
    /// More milliseconds than fit in a `u64`.
    TooLarge,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Empty => f.write_str("it is empty"),
            DurationError::NumberExpected => f.write_str("a number must come before each unit"),
            DurationError::UnitMissing => {
                f.write_str("the unit is missing (a bare number would be a guess)")
            }
            DurationError::UnknownUnit(u) => write!(f, "unknown unit {u:?}"),
            DurationError::Iso8601 => f.write_str(
                "not a valid ISO 8601 duration (weeks, days, hours, minutes and seconds only; years and months vary in length)",
            ),
            DurationError::TooLarge => f.write_str("it is too large"),
        }
    }
}

impl std::error::Error for DurationError {}

/// The duration `text` denotes, in milliseconds.
pub fn parse(text: &str) -> Result<u64, DurationError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DurationError::Empty);
    }
    if let Some(rest) = t.strip_prefix('P').or_else(|| t.strip_prefix('p')) {
        return parse_iso8601(rest)
            .ok_or(DurationError::Iso8601)?
            .checked_mul(1_000)
            .ok_or(DurationError::TooLarge);
    }
    let mut total: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(DurationError::NumberExpected);
        }
        let (number, after) = rest.split_at(digits);
        let n: u64 = number.parse().map_err(|_| DurationError::TooLarge)?;
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c.is_whitespace())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(DurationError::UnitMissing);
        }
        let factor = unit_millis(unit).ok_or_else(|| DurationError::UnknownUnit(unit.into()))?;
        let part = n.checked_mul(factor).ok_or(DurationError::TooLarge)?;
        total = total.checked_add(part).ok_or(DurationError::TooLarge)?;
        rest = after.trim_start();
    }
    Ok(total)
}

/// The duration `text` denotes, in milliseconds, if it is one.
pub fn parse_millis(text: &str) -> Option<u64> {
    parse(text).ok()
}

/// The length of one `unit` (any spelling of [`UNITS`], any case), in milliseconds.
fn unit_millis(unit: &str) -> Option<u64> {
    UNITS
        .iter()
        .find(|(names, _)| names.iter().any(|n| n.eq_ignore_ascii_case(unit)))
        .map(|(_, ms)| *ms)
}

/// The part of an ISO 8601 duration after the `P`, in seconds.
fn parse_iso8601(rest: &str) -> Option<u64> {
    let (date, time) = match rest.find(['T', 't']) {
        Some(i) => (rest.get(..i)?, Some(rest.get(i + 1..)?)),
        None => (rest, None),
    };
    let mut total: u64 = 0;
    let mut any = false;
    let mut add = |part: &str, units: &[(char, u64)]| -> Option<()> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let c = c.to_ascii_uppercase();
            let factor = units.iter().find(|(u, _)| *u == c)?.1;
            let n: u64 = num.parse().ok()?;
            total = total.checked_add(n.checked_mul(factor)?)?;
            num.clear();
            any = true;
        }
        num.is_empty().then_some(())
    };
    add(date, &[('W', 604_800), ('D', 86_400)])?;
    if let Some(time) = time {
        if time.is_empty() {
            return None;
        }
        add(time, &[('H', 3_600), ('M', 60), ('S', 1)])?;
    }
    any.then_some(total)
}

/// Forms every duration reader must accept, with their milliseconds: the examples the macros ⇔
/// gate equivalence test compiles, and the unit tests below.
pub const EXAMPLES: &[(&str, u64)] = &[
    ("200ms", 200),
    ("5s", 5_000),
    ("15m", 900_000),
    ("24h", 86_400_000),
    ("1d", 86_400_000),
    ("2w", 1_209_600_000),
    ("1h30m", 5_400_000),
    ("1m 30s", 90_000),
    ("2 weeks", 1_209_600_000),
    ("10 seconds", 10_000),
    ("P1D", 86_400_000),
    ("PT24H", 86_400_000),
    ("PT15M", 900_000),
    ("P1DT12H", 129_600_000),
    ("PT1M30S", 90_000),
];

/// Texts every duration reader must refuse.
pub const REFUSED: &[&str] = &[
    "",
    "5",
    "s",
    "5 parsecs",
    "5 sec x",
    "P",
    "PT",
    "P1Y",
    "P1M",
    "forever",
    "-5s",
    "1.5s",
    "99999999999999999999s",
    "99999999999999d",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples() {
        for (text, ms) in EXAMPLES {
            assert_eq!(parse(text), Ok(*ms), "{text:?}");
        }
        assert_eq!(parse(" 5S "), Ok(5_000));
    }

    #[test]
    fn refused() {
        for bad in REFUSED {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reasons() {
        assert_eq!(parse(""), Err(DurationError::Empty));
        assert_eq!(parse("5"), Err(DurationError::UnitMissing));
        assert_eq!(parse("s"), Err(DurationError::NumberExpected));
        assert_eq!(
            parse("5 parsecs"),
            Err(DurationError::UnknownUnit("parsecs".into()))
        );
        assert_eq!(parse("P1Y"), Err(DurationError::Iso8601));
        assert_eq!(parse("99999999999999d"), Err(DurationError::TooLarge));
    }
}
