//! Durations as users write them, in config files, policy attributes and OpenAPI documents:
//! `200ms`, `5s`, `15m`, `24h`, `7d`, `2w`, compounds (`1h30m`, `1m 30s`), and ISO 8601
//! (`P1D`, `PT24H`, `P1DT12H`). A bare number is refused: its unit would be a guess. Years and
//! months are refused too (their length varies).

/// The duration `text` denotes, in milliseconds.
pub fn parse_millis(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(rest) = t.strip_prefix('P').or_else(|| t.strip_prefix('p')) {
        return parse_iso8601(rest).and_then(|s| s.checked_mul(1_000));
    }
    let mut total: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest.get(..digits)?.parse().ok()?;
        rest = rest.get(digits..)?.trim_start();
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c.is_whitespace())
            .unwrap_or(rest.len());
        let factor = match rest.get(..unit_len)?.to_ascii_lowercase().as_str() {
            "ms" | "msec" | "millis" | "milliseconds" => 1,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000,
            "d" | "day" | "days" => 86_400_000,
            "w" | "week" | "weeks" => 604_800_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(factor)?)?;
        rest = rest.get(unit_len..)?;
    }
    Some(total)
}

/// The duration `text` denotes, in whole seconds (rounded down).
pub fn parse_seconds(text: &str) -> Option<u64> {
    parse_millis(text).map(|ms| ms / 1_000)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_compounds() {
        assert_eq!(parse_millis("200ms"), Some(200));
        assert_eq!(parse_millis("5s"), Some(5_000));
        assert_eq!(parse_millis("1m30s"), Some(90_000));
        assert_eq!(parse_millis("1m 30s"), Some(90_000));
        assert_eq!(parse_millis("24h"), Some(86_400_000));
        assert_eq!(parse_seconds("7d"), Some(604_800));
        assert_eq!(parse_seconds("2 weeks"), Some(1_209_600));
    }

    #[test]
    fn iso8601() {
        assert_eq!(parse_seconds("P1D"), Some(86_400));
        assert_eq!(parse_seconds("PT24H"), Some(86_400));
        assert_eq!(parse_seconds("P1DT12H"), Some(129_600));
        assert_eq!(parse_seconds("PT15M"), Some(900));
    }

    #[test]
    fn refused() {
        for bad in [
            "",
            "5",
            "s",
            "5 parsecs",
            "P",
            "PT",
            "P1Y",
            "forever",
            "-5s",
            "99999999999999999999s",
        ] {
            assert_eq!(parse_millis(bad), None, "{bad:?}");
        }
    }
}
