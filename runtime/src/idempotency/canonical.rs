//! Canonical JSON for payload fingerprints: the same request re-serialised (another key order,
//! other whitespace, other escapes) has the same canonical form.
//!
//! The form: objects with their keys sorted by their UTF-8 bytes, no insignificant whitespace,
//! strings as parsed (escapes resolved, written back with serde_json's escaping), numbers as
//! parsed (integers as integers, other numbers as the shortest text of their `f64`, so `1.50`
//! and `1.5` agree while `1` and `1.0` do not). A document with a duplicate object key is not
//! canonicalised (parsers disagree on which value wins), nor is invalid JSON: both are
//! fingerprinted by their raw bytes, so only a byte-identical retry matches.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Why a body has no canonical form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// Not JSON (or trailing data after the value).
    #[error("not JSON: {0}")]
    Syntax(#[from] serde_json::Error),
}

/// A parsed JSON value in canonical order.
#[derive(Debug, PartialEq)]
enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Value>),
    /// Sorted by key, no duplicates.
    Object(Vec<(String, Value)>),
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(String, Value)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            entries.push((k, v));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        if entries.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(de::Error::custom("duplicate object key"));
        }
        Ok(Value::Object(entries))
    }
}

impl Value {
    fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(&n.to_string()),
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
    // serde_json's escaping of a plain string cannot fail.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
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
    Ok(serde_json::from_slice(bytes)?)
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
        assert_ne!(c("1"), c("1.0"));
        assert_ne!(c("[1,2]"), c("[2,1]"), "array order matters");
        assert_ne!(c(r#"{"a":"1"}"#), c(r#"{"a":1}"#));
    }

    #[test]
    fn duplicate_keys_and_invalid_json_have_no_canonical_form() {
        assert!(canonical_json(br#"{"a":1,"a":2}"#).is_err());
        assert!(canonical_json(br#"{"a":1"#).is_err());
        assert!(canonical_json(br#"{"a":1} x"#).is_err());
        assert!(canonical_json(b"").is_err());
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
