//! Bounded "fuzz-lite": the properties of the `cargo fuzz` targets (`fuzz/`), run on random and
//! adversarial inputs inside plain `cargo test` (no nightly, no libFuzzer). The header parser
//! needs the `axum` feature: `cargo test -p idemgate --all-features --test fuzz_lite`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod props;

use proptest::prelude::*;

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        // separators, escapes, hex digits, list markers and quotes, densely
        prop::collection::vec(
            prop::sample::select(b":%0AF3a\\\" \t\xff\xfe\xc3\xa9~".to_vec()),
            0..24
        ),
        "\\PC{0,24}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn key_builder(data in bytes()) {
        props::key_builder(&data);
    }

    #[test]
    fn canonical_json(data in bytes()) {
        props::canonical(&data);
    }

    #[test]
    fn canonical_json_of_json_text(v in json()) {
        props::canonical(v.as_bytes());
    }
}

#[cfg(feature = "axum")]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn key_header(data in bytes()) {
        props::key_header(&data);
    }

    #[test]
    fn key_header_quoted(inner in "[ -~]{0,260}") {
        props::key_header(format!("\"{inner}\"").as_bytes());
        props::key_header(inner.as_bytes());
    }
}

/// Small JSON documents with duplicate-prone keys, escapes and numbers in several spellings.
fn json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        "-?[0-9]{1,3}(\\.[0-9]{1,3})?([eE][+-]?[0-9])?",
        "\"([a-c]|\\\\u00e9|\\\\n|\\\\\"){0,4}\"",
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-c]{0,2}", inner), 0..4).prop_map(|v| {
                let fields: Vec<String> = v
                    .into_iter()
                    .map(|(k, v)| format!(" \"{k}\" : {v}"))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

#[test]
fn seeds_from_the_issue() {
    props::key_builder(b"acme\xffx:y\xfeacme:x\xffy");
    props::key_builder(b"\xff\xfe");
    props::key_builder(b"%41:%3a:%");
    props::canonical(br#"{"sku":"a","qty":1}"#);
    props::canonical(br#"{"a":1,"a":2}"#);
    // found by `cargo fuzz run canonical_json`: beyond f64, serde_json refuses it
    props::canonical(b"4e448");
    props::canonical(b"[0.4e449, -1E-400]");
    #[cfg(feature = "axum")]
    {
        props::key_header(b"\"x:y\"");
        props::key_header(b"\"a\\\"b\\\\c\"");
        props::key_header(b"  tok  ");
    }
}
