//! Canonical JSON for payload fingerprints: the same request re-serialised (another key order,
//! other whitespace, other escapes, another spelling of a number) has the same canonical form,
//! and two documents with different values never do.
//!
//! The form: objects with their keys sorted by their UTF-8 bytes, no insignificant whitespace,
//! strings as parsed (escapes resolved, then written with only `\"`, `\\` and `\u00XX` for
//! control characters), numbers as parsed *exactly* (`1.50`, `1.5` and `15e-1` agree, as do `1`
//! and `1.0`; no number is rounded through a float, so `0.1` and `0.10000000000000000001`
//! stay different). Invalid JSON, a document nested deeper than 128 levels and a document with
//! a duplicate object key (parsers disagree on which value wins) have no canonical form: they
//! are fingerprinted by their raw bytes, so only a byte-identical retry matches.

/// Deepest nesting of arrays and objects accepted.
const MAX_DEPTH: usize = 128;

/// Why a body has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// Not JSON (or trailing data after the value).
    #[error("not JSON: {what} at byte {offset}")]
    Syntax {
        /// What was expected or found.
        what: &'static str,
        /// Where.
        offset: usize,
    },
    /// Nested deeper than 128 levels.
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// An object has the same key twice.
    #[error("duplicate object key {0:?}")]
    DuplicateKey(String),
}

/// A parsed JSON value in canonical order.
#[derive(Debug, PartialEq)]
enum Value {
    Null,
    Bool(bool),
    /// Exact decimal: `[-]digits[eEXP]`, digits without leading or trailing zeros, `0` for zero.
    Number(String),
    String(String),
    Array(Vec<Value>),
    /// Sorted by key, no duplicates.
    Object(Vec<(String, Value)>),
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err<T>(&self, what: &'static str) -> Result<T, CanonicalError> {
        Err(CanonicalError::Syntax {
            what,
            offset: self.i,
        })
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, byte: u8, what: &'static str) -> Result<(), CanonicalError> {
        if self.peek() == Some(byte) {
            self.i += 1;
            Ok(())
        } else {
            self.err(what)
        }
    }

    fn word(&mut self, word: &'static [u8], value: Value) -> Result<Value, CanonicalError> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(value)
        } else {
            self.err("a value")
        }
    }

    fn value(&mut self) -> Result<Value, CanonicalError> {
        self.ws();
        match self.peek() {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.word(b"true", Value::Bool(true)),
            Some(b'f') => self.word(b"false", Value::Bool(false)),
            Some(b'n') => self.word(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.err("a value"),
        }
    }

    fn nested(
        &mut self,
        parse: fn(&mut Self) -> Result<Value, CanonicalError>,
    ) -> Result<Value, CanonicalError> {
        if self.depth >= MAX_DEPTH {
            return Err(CanonicalError::TooDeep);
        }
        self.depth += 1;
        let value = parse(self);
        self.depth -= 1;
        value
    }

    fn array(&mut self) -> Result<Value, CanonicalError> {
        self.eat(b'[', "`[`")?;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                _ => return self.err("`,` or `]`"),
            }
        }
    }

    fn object(&mut self) -> Result<Value, CanonicalError> {
        self.eat(b'{', "`{`")?;
        let mut entries: Vec<(String, Value)> = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                if self.peek() != Some(b'"') {
                    return self.err("a key");
                }
                let key = self.string()?;
                self.ws();
                self.eat(b':', "`:`")?;
                let value = self.value()?;
                entries.push((key, value));
                self.ws();
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(b'}') => {
                        self.i += 1;
                        break;
                    }
                    _ => return self.err("`,` or `}`"),
                }
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(CanonicalError::DuplicateKey(w[0].0.clone()));
        }
        Ok(Value::Object(entries))
    }

    fn hex4(&mut self) -> Result<u32, CanonicalError> {
        let mut n = 0;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return self.err("four hex digits"),
            };
            n = n * 16 + u32::from(d);
            self.i += 1;
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, CanonicalError> {
        self.eat(b'"', "`\"`")?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return self.err("the end of the string");
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return self.err("an escape");
                    };
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return self.err("a low surrogate");
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return self.err("a low surrogate");
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            match char::from_u32(code) {
                                Some(ch) => ch,
                                None => return self.err("a Unicode scalar value"),
                            }
                        }
                        _ => return self.err("a valid escape"),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                0x00..=0x1f => return self.err("no control character in a string"),
                _ => out.push(c),
            }
        }
        // The input was checked to be UTF-8 and escapes add whole characters.
        String::from_utf8(out).or_else(|_| self.err("UTF-8"))
    }

    fn digits(&mut self, out: &mut String) -> usize {
        let start = self.i;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            out.push(char::from(c));
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, CanonicalError> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        let mut digits = String::new();
        match self.peek() {
            Some(b'0') => {
                self.i += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return self.err("no leading zero");
                }
            }
            Some(b'1'..=b'9') => {
                self.digits(&mut digits);
            }
            _ => return self.err("a digit"),
        }
        // value = digits × 10^exponent, computed without rounding
        let mut exponent: i64 = 0;
        if self.peek() == Some(b'.') {
            self.i += 1;
            let n = self.digits(&mut digits);
            if n == 0 {
                return self.err("a digit after `.`");
            }
            exponent -= i64::try_from(n).unwrap_or(i64::MAX);
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            let sign = match self.peek() {
                Some(b'-') => {
                    self.i += 1;
                    -1
                }
                Some(b'+') => {
                    self.i += 1;
                    1
                }
                _ => 1,
            };
            let mut text = String::new();
            if self.digits(&mut text) == 0 {
                return self.err("a digit in the exponent");
            }
            let Ok(e) = text.parse::<i64>() else {
                return self.err("an exponent that fits 64 bits");
            };
            let Some(e) = e.checked_mul(sign).and_then(|e| exponent.checked_add(e)) else {
                return self.err("an exponent that fits 64 bits");
            };
            exponent = e;
        }
        let significant = digits.trim_start_matches('0');
        let trimmed = significant.trim_end_matches('0');
        if trimmed.is_empty() {
            return Ok(Value::Number("0".to_owned()));
        }
        let zeros = significant.len() - trimmed.len();
        let Some(exponent) = exponent.checked_add(i64::try_from(zeros).unwrap_or(i64::MAX)) else {
            return self.err("an exponent that fits 64 bits");
        };
        let sign = if negative { "-" } else { "" };
        Ok(Value::Number(if exponent == 0 {
            format!("{sign}{trimmed}")
        } else {
            format!("{sign}{trimmed}e{exponent}")
        }))
    }
}

impl Value {
    fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(n),
            Value::String(s) => write_string(s, out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Value::Object(entries) => write_object(entries.iter().map(|(k, v)| (k, Some(v))), out),
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `{"k":v,…}`; an absent value (`None`) is written as a bare key, which no JSON value is, so
/// an absent field never equals a present one.
fn write_object<'a>(
    entries: impl Iterator<Item = (&'a String, Option<&'a Value>)>,
    out: &mut String,
) {
    out.push('{');
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(k, out);
        if let Some(v) = v {
            out.push(':');
            v.write(out);
        }
    }
    out.push('}');
}

fn parse(bytes: &[u8]) -> Result<Value, CanonicalError> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(CanonicalError::Syntax {
            what: "UTF-8",
            offset: e.valid_up_to(),
        });
    }
    let mut p = Parser {
        b: bytes,
        i: 0,
        depth: 0,
    };
    // A UTF-8 byte order mark is not JSON (RFC 8259 §8.1): raw bytes then.
    let value = p.value()?;
    p.ws();
    if p.i != bytes.len() {
        return p.err("the end of the document");
    }
    Ok(value)
}

/// The canonical form of a JSON document (see the [module docs](self)).
pub fn canonical_json(bytes: &[u8]) -> Result<String, CanonicalError> {
    let value = parse(bytes)?;
    let mut out = String::with_capacity(bytes.len());
    value.write(&mut out);
    Ok(out)
}

/// The canonical form of only the named top-level fields of a JSON object, in sorted order;
/// a field the body lacks is recorded as absent (distinct from `null`). `None` when the body
/// is valid JSON but not an object.
pub fn canonical_json_fields<S: AsRef<str>>(
    bytes: &[u8],
    fields: &[S],
) -> Result<Option<String>, CanonicalError> {
    let Value::Object(entries) = parse(bytes)? else {
        return Ok(None);
    };
    let mut names: Vec<String> = fields.iter().map(|f| f.as_ref().to_owned()).collect();
    names.sort();
    names.dedup();
    let picked: Vec<(&String, Option<&Value>)> = names
        .iter()
        .map(|name| {
            let value = entries
                .binary_search_by(|(k, _)| k.as_str().cmp(name))
                .ok()
                .and_then(|i| entries.get(i))
                .map(|(_, v)| v);
            (name, value)
        })
        .collect();
    let mut out = String::new();
    write_object(picked.into_iter(), &mut out);
    Ok(Some(out))
}

/// Whether a `Content-Type` value is JSON: `application/json` or `application/*+json`, any
/// parameters, any case.
pub fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json") && !sub.contains('/'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        canonical_json(s.as_bytes()).unwrap()
    }

    #[test]
    fn key_order_whitespace_and_escapes_do_not_matter() {
        assert_eq!(c(r#"{"sku":"a","qty":1}"#), r#"{"qty":1,"sku":"a"}"#);
        assert_eq!(
            c(" {\n \"qty\" : 1 ,\t\"sku\":\"a\" } "),
            c(r#"{"sku":"a","qty":1}"#)
        );
        assert_eq!(c(r#"{"s":"\u0061\/"}"#), r#"{"s":"a/"}"#);
        assert_eq!(
            c(r#"{"b":{"y":[3,{"d":1,"c":2}],"x":null},"a":true}"#),
            r#"{"a":true,"b":{"x":null,"y":[3,{"c":2,"d":1}]}}"#
        );
        assert_eq!(c("1.50"), c("1.5"));
        assert_eq!(c("1e2"), c("100.0"));
        assert_eq!(c("1"), c("1.0"));
        assert_eq!(c("15e-1"), "15e-1");
        assert_eq!(c("1.5"), "15e-1");
        assert_eq!(c("-0.0"), "0");
        assert_eq!(c("120"), "12e1");
        assert_eq!(c("0.00120E+3"), "12e-1");
        // never rounded through a float
        assert_ne!(c("0.1"), c("0.10000000000000000001"));
        assert_ne!(c("18446744073709551617"), c("18446744073709551616"));
        assert_eq!(c(r#""\ud83d\ude00 \u00e9\t""#), "\"\u{1F600} é\\u0009\"");
        assert_ne!(c("[1,2]"), c("[2,1]"), "array order matters");
        assert_ne!(c(r#"{"a":"1"}"#), c(r#"{"a":1}"#));
    }

    #[test]
    fn duplicate_keys_and_invalid_json_have_no_canonical_form() {
        assert!(canonical_json(br#"{"a":1,"a":2}"#).is_err());
        assert!(canonical_json(br#"{"a":1"#).is_err());
        assert!(canonical_json(br#"{"a":1} x"#).is_err());
        assert!(canonical_json(b"").is_err());
        for bad in [
            "01",
            "1.",
            ".5",
            "1e",
            "+1",
            "-",
            "tru",
            "[1,]",
            "{\"a\":1,}",
            "{a:1}",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"a\nb\"",
            "1e99999999999999999999",
            "\u{feff}{}",
        ] {
            assert!(canonical_json(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(canonical_json(b"\"\xff\"").is_err());
        assert_eq!(
            canonical_json(br#"{"a":1,"a":1}"#),
            Err(CanonicalError::DuplicateKey("a".into()))
        );
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(canonical_json(deep.as_bytes()).is_err(), "recursion limit");
    }

    #[test]
    fn fields_pick_the_named_top_level_fields() {
        let f = |s: &str| canonical_json_fields(s.as_bytes(), &["currency", "amount"]).unwrap();
        assert_eq!(
            f(r#"{"note":"x","amount":5,"currency":"EUR"}"#),
            Some(r#"{"amount":5,"currency":"EUR"}"#.to_owned())
        );
        assert_eq!(
            f(r#"{"currency":"EUR","amount":5,"note":"y"}"#),
            f(r#"{"amount":5,"currency":"EUR"}"#)
        );
        assert_ne!(
            f(r#"{"amount":5,"currency":"EUR"}"#),
            f(r#"{"amount":6,"currency":"EUR"}"#)
        );
        assert_ne!(
            f(r#"{"amount":null,"currency":"EUR"}"#),
            f(r#"{"currency":"EUR"}"#),
            "absent is not null"
        );
        assert_eq!(f("[1]"), None);
    }

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("Application/JSON; charset=utf-8"));
        assert!(is_json_media_type("application/merge-patch+json"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type("application/jsonx"));
        assert!(!is_json_media_type("application/x-www-form-urlencoded"));
    }
}
