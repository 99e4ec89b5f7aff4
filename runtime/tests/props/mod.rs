//! Properties checked on arbitrary bytes, shared by the `cargo fuzz` targets in `fuzz/` and the
//! bounded `fuzz_lite` test (which runs in plain `cargo test`). Each function panics when a
//! property fails and must never panic otherwise.
#![allow(dead_code)]

use idemgate::idempotency::canonical_json;
use idemgate::Key;

/// Splits `data` into a list of parts (at `0xFF`, which UTF-8 never contains) and, when a
/// `0xFE` is present, into two lists.
fn lists(data: &[u8]) -> (Vec<String>, Option<Vec<String>>) {
    let split = |bytes: &[u8]| -> Vec<String> {
        bytes
            .split(|&b| b == 0xFF)
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect()
    };
    match data.iter().position(|&b| b == 0xFE) {
        Some(at) => (split(&data[..at]), Some(split(&data[at + 1..]))),
        None => (split(data), None),
    }
}

fn build(parts: &[String]) -> Key {
    let mut key = Key::new(&parts[0]);
    for part in &parts[1..] {
        key.push(part);
    }
    key
}

/// The key builder: printable ASCII out, decode inverts encode, distinct lists never collide,
/// and whatever decodes re-encodes to itself.
pub fn key_builder(data: &[u8]) {
    let (a, b) = lists(data);
    let key = build(&a);
    assert!(
        key.as_str().bytes().all(|c| (0x21..=0x7e).contains(&c)) || key.is_empty(),
        "not printable ASCII: {key:?}"
    );
    assert_eq!(
        Key::decode(key.as_str()).as_ref(),
        Ok(&a),
        "decode(encode(parts))"
    );
    assert_eq!(Key::parse(key.as_str()).as_ref(), Ok(&key));
    if let Some(b) = b {
        assert_eq!(a == b, key == build(&b), "{a:?} / {b:?}");
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(parts) = Key::decode(&text) {
        assert_eq!(build(&parts).as_str(), text, "encode(decode(text))");
    }
}

/// The `Idempotency-Key` header parser: accepted keys are 1–255 printable ASCII bytes, the
/// store accepts what the parser accepts, and a key written back as an sf-string (or as a
/// bare token when it is one) parses to itself.
#[cfg(feature = "axum")]
pub fn key_header(data: &[u8]) {
    use idemgate::http::IdempotencyKey;
    use idemgate::idempotency::ScopedKey;

    let Ok(key) = IdempotencyKey::parse(data) else {
        return;
    };
    let k = key.as_str();
    assert!((1..=255).contains(&k.len()), "length {}", k.len());
    assert!(k.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{k:?}");
    assert!(
        ScopedKey::new("tenant", "op", k).is_ok(),
        "store refuses {k:?}"
    );
    let mut quoted = String::from("\"");
    for c in k.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    assert_eq!(IdempotencyKey::parse(quoted.as_bytes()).as_ref(), Ok(&key));
    if !k.starts_with('"') && k.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        assert_eq!(IdempotencyKey::parse(k.as_bytes()).as_ref(), Ok(&key));
    }
}

/// Canonical JSON is a fixed point (canonicalising it changes nothing), and serde_json reads
/// it whenever it reads the original (serde_json refuses numbers beyond `f64`, such as `4e448`,
/// which the exact canonical form keeps).
pub fn canonical(data: &[u8]) {
    if let Ok(c) = canonical_json(data) {
        if serde_json::from_slice::<serde_json::Value>(data).is_ok() {
            assert!(
                serde_json::from_str::<serde_json::Value>(&c).is_ok(),
                "not JSON: {c:?}"
            );
        }
        assert_eq!(
            canonical_json(c.as_bytes()).ok().as_deref(),
            Some(c.as_str())
        );
    }
}
