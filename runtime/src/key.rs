//! Idempotency keys composed from several values, without collisions.
//!
//! `format!("{tenant}:{order}")` is ambiguous: tenant `acme:x` with order `y` and tenant `acme`
//! with order `x:y` give the same `acme:x:y`, so one caller's retry is taken for another's
//! request (or a payment provider returns one tenant's charge to another). [`key`], [`key!`]
//! and [`Key`] build keys that cannot collide:
//!
//! ```
//! use idemgate::{key, Key};
//!
//! let tenant = "acme";
//! let order_id = 42_u64;
//! assert_eq!(key(["idem", tenant, "signup"]).as_str(), "idem:acme:signup");
//! assert_eq!(idemgate::key!("charge", tenant, order_id).as_str(), "charge:acme:42");
//! // separators inside a part are escaped, so these two differ
//! assert_eq!(key(["acme", "x:y"]).as_str(), "acme:x%3Ay");
//! assert_eq!(key(["acme:x", "y"]).as_str(), "acme%3Ax:y");
//! assert_eq!(Key::decode("acme:x%3Ay").unwrap(), ["acme", "x:y"]);
//! ```
//!
//! # Encoding
//!
//! Each part is written as its `Display` text with every byte outside `A-Z a-z 0-9 - _ . ~`
//! percent-encoded as `%XX` (upper-case hex, UTF-8 bytes for non-ASCII text), and parts are
//! joined by `:`. So plain ids stay readable (`charge:acme:42`), the separator `:` and the
//! escape character `%` inside a part are always escaped (`%3A`, `%25`), and the key is
//! printable ASCII, valid in an HTTP header as it is.
//!
//! The encoding is injective: a key splits at its `:` into exactly the encoded parts, and each
//! part decodes back to its text ([`Key::decode`] is the inverse, and refuses any string the
//! builder cannot produce, such as `%41` for `A`). Two keys are equal exactly when their part
//! lists are equal, comparing parts by their `Display` text (`42_u64` and `"42"` are the same
//! part). A key has at least one part: `key([])` fails the build, and [`Key::new`] takes the
//! first part.
//!
//! A [`Key`] is a valid `http::HeaderValue` as it is (`TryFrom<Key>`, so
//! `request.header("Idempotency-Key", key)` works with reqwest) and serialises as its encoded
//! string (deserialising checks it with [`Key::parse`]).
//!
//! Keys are not shortened: a long key stays long, and [`ScopedKey::new`] and
//! `#[idempotent]` reject one over 255 bytes ([`InvalidKey::TooLong`]) rather than truncate it
//! into a collision. Most providers (Stripe included) accept 255 bytes too.
//!
//! [`ScopedKey::new`]: crate::idempotency::ScopedKey::new
//! [`InvalidKey::TooLong`]: crate::InvalidKey::TooLong

use std::fmt::{self, Display, Write as _};

/// The separator between parts.
pub const SEPARATOR: char = ':';

/// An idempotency key built from parts; see the [module docs](self) for the encoding.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(String);

/// Builds a key from parts of one type (`&str`, `String`, an integer type…). For parts of
/// different types use [`key!`] or [`Key::new`] with [`Key::part`].
///
/// An empty list fails the build (a constant assertion, reported when the program is built;
/// `cargo check` alone does not evaluate it): a key has at least one part.
pub fn key<P: Display, const N: usize>(parts: [P; N]) -> Key {
    const { assert!(N > 0, "a key needs at least one part") };
    let mut out = Key(String::with_capacity(N * 8));
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.0.push(SEPARATOR);
        }
        out.write_part(part);
    }
    out
}

/// Builds a [`Key`] from one or more parts of any `Display` types:
/// `idemgate::key!("send_email", tenant, order_id)`.
#[macro_export]
macro_rules! key {
    ($first:expr $(, $rest:expr)* $(,)?) => {
        $crate::Key::new(&$first)$(.part(&$rest))*
    };
}

impl Key {
    /// A key of one part.
    pub fn new(first: impl Display) -> Key {
        let mut out = Key(String::new());
        out.write_part(&first);
        out
    }

    /// Appends a part (builder style).
    #[must_use]
    pub fn part(mut self, part: impl Display) -> Key {
        self.push(part);
        self
    }

    /// Appends a part.
    pub fn push(&mut self, part: impl Display) {
        self.0.push(SEPARATOR);
        self.write_part(&part);
    }

    fn write_part(&mut self, part: &dyn Display) {
        // Writing into a String cannot fail; a `Display` impl that errors leaves what it wrote.
        let _ = write!(Escape(&mut self.0), "{part}");
    }

    /// The encoded key (printable ASCII).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The encoded key as a `String`.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The encoded length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false (a key has at least one part, but a single empty part encodes as `""`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The parts of an encoded key, decoded. Accepts exactly the strings the builder
    /// produces, so `Key::decode(k.as_str())` gives back the parts' texts.
    pub fn decode(encoded: &str) -> Result<Vec<String>, KeyDecodeError> {
        let mut parts = Vec::new();
        let mut offset = 0;
        for raw in encoded.split(SEPARATOR) {
            parts.push(decode_part(raw, offset)?);
            offset += raw.len() + 1;
        }
        Ok(parts)
    }

    /// Parses an encoded key, checking that the builder could have produced it.
    pub fn parse(encoded: &str) -> Result<Key, KeyDecodeError> {
        Key::decode(encoded).map(|_| Key(encoded.to_owned()))
    }
}

/// Why a string is not an encoded [`Key`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyDecodeError {
    /// A byte the builder always escapes appears unescaped.
    #[error("byte {byte:#04x} at offset {offset} must be percent-encoded")]
    Unescaped {
        /// The byte.
        byte: u8,
        /// Its offset in the key.
        offset: usize,
    },
    /// `%` not followed by two upper-case hex digits.
    #[error("bad escape at offset {offset}: `%` must be followed by two upper-case hex digits")]
    BadEscape {
        /// Offset of the `%`.
        offset: usize,
    },
    /// An escape of a byte the builder writes as it is (`%41` for `A`).
    #[error("needless escape at offset {offset}: the byte is written unescaped")]
    NeedlessEscape {
        /// Offset of the `%`.
        offset: usize,
    },
    /// The escaped bytes of a part are not UTF-8.
    #[error("the part at offset {offset} is not UTF-8 once decoded")]
    NotUtf8 {
        /// Offset of the part.
        offset: usize,
    },
}

impl Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<Key> for String {
    fn from(key: Key) -> String {
        key.0
    }
}

impl PartialEq<str> for Key {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Key {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A key is printable ASCII, so it is always a valid header value:
/// `request.header("Idempotency-Key", idemgate::key(["refund", tenant, refund_id]))`.
impl TryFrom<Key> for http::HeaderValue {
    type Error = http::header::InvalidHeaderValue;

    fn try_from(key: Key) -> Result<Self, Self::Error> {
        http::HeaderValue::try_from(key.0)
    }
}

impl TryFrom<&Key> for http::HeaderValue {
    type Error = http::header::InvalidHeaderValue;

    fn try_from(key: &Key) -> Result<Self, Self::Error> {
        http::HeaderValue::from_str(&key.0)
    }
}

/// Serialised as the encoded string.
impl serde::Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Deserialised from an encoded string, refusing one the builder cannot produce.
impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Key::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Bytes written as they are; every other byte is `%XX`.
const fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Percent-encodes what is written through it.
struct Escape<'a>(&'a mut String);

impl fmt::Write for Escape<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if unreserved(b) {
                self.0.push(char::from(b));
            } else {
                self.0.push('%');
                self.0.push(char::from(HEX[usize::from(b >> 4)]));
                self.0.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
        }
        Ok(())
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode_part(raw: &str, offset: usize) -> Result<String, KeyDecodeError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_value);
            let lo = bytes.get(i + 2).copied().and_then(hex_value);
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(KeyDecodeError::BadEscape { offset: offset + i });
            };
            let decoded = hi << 4 | lo;
            if unreserved(decoded) {
                return Err(KeyDecodeError::NeedlessEscape { offset: offset + i });
            }
            out.push(decoded);
            i += 3;
        } else if unreserved(b) {
            out.push(b);
            i += 1;
        } else {
            return Err(KeyDecodeError::Unescaped {
                byte: b,
                offset: offset + i,
            });
        }
    }
    String::from_utf8(out).map_err(|_| KeyDecodeError::NotUtf8 { offset })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn plain_ids_stay_readable() {
        assert_eq!(
            key(["idem", "acme", "signup", "42", "send_email"]).as_str(),
            "idem:acme:signup:42:send_email"
        );
        assert_eq!(
            crate::key!("order", 42_u64, -7_i32, "a.b~c").as_str(),
            "order:42:-7:a.b~c"
        );
        assert_eq!(
            Key::new("a").part("b").part(3).as_str(),
            key(["a", "b", "3"]).as_str()
        );
        let mut k = Key::new("x");
        k.push("");
        assert_eq!(k.as_str(), "x:");
    }

    #[test]
    fn separators_and_escapes_are_escaped() {
        assert_eq!(key(["acme", "x:y"]).as_str(), "acme:x%3Ay");
        assert_eq!(key(["acme:x", "y"]).as_str(), "acme%3Ax:y");
        assert_ne!(key(["acme", "x:y"]), key(["acme:x", "y"]));
        assert_eq!(key(["100%"]).as_str(), "100%25");
        assert_eq!(key(["a b/c"]).as_str(), "a%20b%2Fc");
        assert_eq!(key(["clé"]).as_str(), "cl%C3%A9");
        assert_eq!(key(["\u{1F600}"]).as_str(), "%F0%9F%98%80");
        assert_eq!(key([""]).as_str(), "");
        assert_eq!(key(["", ""]).as_str(), ":");
    }

    #[test]
    fn keys_are_header_values_and_json_strings() {
        let k = key(["refund", "acme:eu", "r 1"]);
        let v = http::HeaderValue::try_from(&k).unwrap();
        assert_eq!(v.to_str().unwrap(), "refund:acme%3Aeu:r%201");
        assert_eq!(http::HeaderValue::try_from(k.clone()).unwrap(), v);
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json, r#""refund:acme%3Aeu:r%201""#);
        assert_eq!(serde_json::from_str::<Key>(&json).unwrap(), k);
        assert!(serde_json::from_str::<Key>(r#""a b""#).is_err());
    }

    #[test]
    fn decode_is_strict() {
        assert_eq!(Key::decode("").unwrap(), [""]);
        assert_eq!(Key::decode(":").unwrap(), ["", ""]);
        assert_eq!(Key::decode("cl%C3%A9:x").unwrap(), ["clé", "x"]);
        assert_eq!(
            Key::decode("a%3a"),
            Err(KeyDecodeError::BadEscape { offset: 1 })
        );
        assert_eq!(
            Key::decode("x:%4"),
            Err(KeyDecodeError::BadEscape { offset: 2 })
        );
        assert_eq!(
            Key::decode("%41"),
            Err(KeyDecodeError::NeedlessEscape { offset: 0 })
        );
        assert_eq!(
            Key::decode("a b"),
            Err(KeyDecodeError::Unescaped {
                byte: b' ',
                offset: 1
            })
        );
        assert_eq!(
            Key::decode("ok:%FF"),
            Err(KeyDecodeError::NotUtf8 { offset: 3 })
        );
        assert!(Key::parse("charge:acme:42").is_ok());
    }

    fn parts() -> impl Strategy<Value = Vec<String>> {
        // Small alphabets make near-collisions (separators, escapes, empty parts) likely.
        let part = prop_oneof![
            "[a:%]{0,4}",
            "[a-z0-9:%_.~ -]{0,8}",
            any::<String>(),
            "[\\x00-\\x7f]{0,6}",
        ];
        prop::collection::vec(part, 1..6)
    }

    fn build(parts: &[String]) -> Key {
        let mut k = Key::new(&parts[0]);
        for p in &parts[1..] {
            k.push(p);
        }
        k
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn distinct_part_lists_never_collide(a in parts(), b in parts()) {
            prop_assert_eq!(a == b, build(&a) == build(&b));
        }

        #[test]
        fn decode_inverts_encode(a in parts()) {
            let k = build(&a);
            prop_assert!(k.as_str().bytes().all(|b| (0x21..=0x7e).contains(&b)));
            prop_assert_eq!(Key::decode(k.as_str()).unwrap(), a);
        }

        #[test]
        fn whatever_decodes_re_encodes_to_itself(s in "[a-zA-Z0-9:%~._ -]{0,12}|\\PC{0,8}") {
            if let Ok(parts) = Key::decode(&s) {
                prop_assert_eq!(build(&parts).into_string(), s);
            }
        }

        #[test]
        fn array_form_equals_builder(a in parts()) {
            if let [x, y, z] = a.as_slice() {
                prop_assert_eq!(key([x, y, z]), build(&a));
            }
        }
    }
}
