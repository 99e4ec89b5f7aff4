//! Facts about how idempotency keys are composed (IDEM005): a key written as `format!`, a `+`
//! chain, `[…].join(sep)` or `[…].concat()` over runtime values, with the literal text that
//! separates them. Keys built with the runtime's builder (`idemgate::key`, `key!`,
//! `#[idempotent(key = parts(…))]`) produce no fact.

use crate::location::Location;
use crate::model::rust::KeySink;

/// How the pieces of a key are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Composition {
    /// `format!` / `format_args!`.
    Format,
    /// `a + ":" + b`.
    Plus,
    /// `[a, b].join(":")`.
    Join,
    /// `[a, ":", b].concat()`.
    Concat,
}

impl Composition {
    /// As written in code, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Composition::Format => "`format!`",
            Composition::Plus => "`+`",
            Composition::Join => "`join`",
            Composition::Concat => "`concat`",
        }
    }
}

/// One runtime value interpolated into a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The value as written (`tenant`, `order.id`, `key.as_str()`).
    pub text: String,
    /// Its type is visibly of a fixed format that cannot contain a separator: an integer
    /// (from the signature, a `let x: u64`, an `as u64` cast, `.len()`) or a `Uuid`.
    pub fixed_format: bool,
}

/// A key composed from pieces.
#[derive(Debug, Clone)]
pub struct KeyComposition {
    /// The composing expression (`format!(…)`, the `+` chain, the `.join(…)` call).
    pub location: Location,
    pub composition: Composition,
    /// The runtime values, in order. Literals and constants are not values.
    pub values: Vec<KeyValue>,
    /// The literal text between consecutive values (`values.len() - 1` entries; constants
    /// are written as `{NAME}`).
    pub separators: Vec<String>,
    /// The builder call that would compose the same key unambiguously, e.g.
    /// `"charge", tenant, order.id` (for `idemgate::key!(…)` or `parts(…)`).
    pub builder_args: String,
    pub sink: KeySink,
    /// The attribute or header call the key flows into.
    pub sink_location: Location,
    /// Crate-relative path of the enclosing function.
    pub function: String,
}
