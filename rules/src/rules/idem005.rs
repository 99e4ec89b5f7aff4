//! IDEM005 ambiguous-key-composition: an idempotency key joins several runtime values with a
//! separator that the values themselves may contain.

use crate::model::keys::KeyComposition;
use crate::model::rust::KeySink;
use crate::{Context, Finding, Model, Rule, RuleMeta, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "IDEM005",
    name: "ambiguous-key-composition",
    default_severity: Severity::Error,
    summary: "an idempotency key joins runtime values with a separator they may contain",
    docs: r#"## Why
A key made with `format!("{tenant}:{order}")` cannot tell its parts apart: tenant `acme:x`
with order `y` and tenant `acme` with order `x:y` both give `acme:x:y`. The second request is
then taken for a retry of the first: it gets the other caller's stored response, or the
payment provider returns the other tenant's charge and the order is marked paid without being
charged. Whoever controls one of the values (a tenant name, a client-chosen key, a user id)
can aim at another caller's key.

The runtime's key builder escapes the separator (and its escape character) inside each part,
so two different lists of parts never give the same key, and plain ids stay readable
(`charge:acme:42`).

The rule fires on a key written with `format!`, a `+` chain, `[…].join(sep)` or
`[…].concat()` — in `#[idempotent(key = …)]` or flowing into an `Idempotency-Key` header —
when two or more of the values may hold arbitrary text, or when two values are joined by no
separator (or only by letters and digits). It stays silent for one interpolated value among
literals, and for values whose type is visibly of a fixed format (an integer or a `Uuid` in the
signature or a typed `let`, an `as u64` cast, `.len()`): those cannot contain the separator.

## Bad
```rust
#[idempotent(key = format!("email:{tenant}:{user_id}"))]
async fn send_welcome(tenant: &str, user_id: &str) -> Result<(), MailError> { /* … */ }

let key = format!("shop:{tenant}:{client_key}");
psp.post(url).header("Idempotency-Key", key).json(&charge).send().await?;
```

## Good
```rust
#[idempotent(key = parts("email", tenant, user_id))]
async fn send_welcome(tenant: &str, user_id: &str) -> Result<(), MailError> { /* … */ }

let key = idemgate::key(["shop", tenant, client_key]);
psp.post(url).header("Idempotency-Key", key.as_str()).json(&charge).send().await?;

// fixed-format values cannot collide: no finding
#[idempotent(key = format!("invoice:{account_id}:{invoice_no}"))]
async fn bill(account_id: u64, invoice_no: u32) -> Result<(), BillError> { /* … */ }
```
"#,
};

pub struct AmbiguousKeyComposition;

/// Whether `sep` keeps the values on either side of it apart: it is not empty and holds a
/// character other than a letter or digit (which an integer, hex or UUID text could hold).
fn separates(sep: &str) -> bool {
    sep.chars().any(|c| !c.is_ascii_alphanumeric())
}

/// Why the composition can collide, or `None` when it cannot.
fn ambiguity(k: &KeyComposition) -> Option<String> {
    let free: Vec<&str> = k
        .values
        .iter()
        .filter(|v| !v.fixed_format)
        .map(|v| v.text.as_str())
        .collect();
    if free.len() >= 2 {
        let (a, b) = (free[0], free[1]);
        return Some(match k.separators.iter().find(|s| !s.is_empty()) {
            Some(sep) => format!(
                "`{a}` and `{b}` may hold any text, `{sep}` included, so different values can give the same key"
            ),
            None => format!(
                "`{a}` and `{b}` may hold any text and nothing separates them, so different values can give the same key"
            ),
        });
    }
    let joined = k
        .values
        .windows(2)
        .zip(&k.separators)
        .find(|(_, sep)| !separates(sep));
    joined.map(|(pair, sep)| {
        let how = if sep.is_empty() {
            "nothing".to_owned()
        } else {
            format!("`{sep}`")
        };
        format!(
            "`{}` and `{}` are joined by {how}, so digits of one can pass for digits of the other",
            pair[0].text, pair[1].text
        )
    })
}

impl Rule for AmbiguousKeyComposition {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, _ctx: &Context, out: &mut Vec<Finding>) {
        for k in &model.key_compositions {
            if k.values.len() < 2 {
                continue;
            }
            let Some(why) = ambiguity(k) else {
                continue;
            };
            let (what, sink, help) = match k.sink {
                KeySink::Attribute => (
                    "the `#[idempotent]` key",
                    "key declared here",
                    format!(
                        "compose the key with the runtime's builder, which escapes separators: `key = parts({})`",
                        k.builder_args
                    ),
                ),
                KeySink::Header => (
                    "the `Idempotency-Key` header",
                    "header set here",
                    format!(
                        "compose the key with the runtime's builder, which escapes separators: `idemgate::key!({})`",
                        k.builder_args
                    ),
                ),
            };
            let values: Vec<&str> = k.values.iter().map(|v| v.text.as_str()).collect();
            out.push(
                Finding::new(
                    &META,
                    k.location.clone(),
                    format!(
                        "{what} in `{}` is composed with {} from {} values: {why}",
                        k.function,
                        k.composition.as_str(),
                        k.values.len()
                    ),
                )
                .label("ambiguous key composition")
                .related(k.sink_location.clone(), sink)
                .help(help)
                .key(format!("{}:{}", k.function, values.join(","))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::keys::{Composition, KeyValue};
    use crate::Location;

    fn composition(values: &[(&str, bool)], separators: &[&str]) -> KeyComposition {
        let at = Location::file_start("src/lib.rs".into());
        KeyComposition {
            location: at.clone(),
            composition: Composition::Format,
            values: values
                .iter()
                .map(|(t, f)| KeyValue {
                    text: (*t).to_owned(),
                    fixed_format: *f,
                })
                .collect(),
            separators: separators.iter().map(|s| (*s).to_owned()).collect(),
            builder_args: String::new(),
            sink: KeySink::Attribute,
            sink_location: at,
            function: "crate::f".into(),
        }
    }

    #[test]
    fn two_free_values_are_ambiguous() {
        assert!(ambiguity(&composition(&[("a", false), ("b", false)], &[":"])).is_some());
        assert!(ambiguity(&composition(
            &[("a", false), ("n", true), ("b", false)],
            &[":", ":"]
        ))
        .is_some());
    }

    #[test]
    fn fixed_format_values_apart_are_not() {
        assert!(ambiguity(&composition(&[("a", true), ("b", true)], &[":"])).is_none());
        assert!(ambiguity(&composition(&[("t", false), ("n", true)], &["/"])).is_none());
        assert!(ambiguity(&composition(&[("n", true), ("t", false)], &["-"])).is_none());
    }

    #[test]
    fn values_without_a_separator_are() {
        assert!(ambiguity(&composition(&[("a", true), ("b", true)], &[""])).is_some());
        assert!(ambiguity(&composition(&[("t", false), ("n", true)], &["1"])).is_some());
    }
}
