//! YAML 1.2 into the spanned tree, from `saphyr-parser`'s events (each carries its span).
//!
//! The builder is iterative (no recursion on input depth) and bounded: nesting deeper than
//! `max_depth` is an error, and alias expansion is charged against `max_alias_nodes` *before*
//! a subtree is copied, so a billion-laughs document stops at the budget in bounded memory.
//! Every document of a stream is read (`---` separates them); a key written twice in one
//! mapping is dropped but for its last occurrence and reported in [`Parsed::duplicates`].

use std::borrow::Cow;
use std::collections::HashMap;

use idemgate_rules::LineIndex;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span};

use super::tree::{drop_duplicate_keys, off, Entry, Node, ParseError, Parsed, Value};

pub struct Limits {
    pub max_depth: usize,
    pub max_alias_nodes: usize,
}

enum Frame<'a> {
    Seq {
        start: u32,
        anchor: usize,
        items: Vec<Node<'a>>,
    },
    Map {
        start: u32,
        anchor: usize,
        entries: Vec<Entry<'a>>,
        key: Option<(Cow<'a, str>, u32, u32)>,
    },
}

/// Converts the parser's character positions to byte offsets.
struct Positions<'a> {
    text: &'a str,
    /// Only for non-ASCII text, where characters and bytes differ.
    index: Option<LineIndex>,
}

impl Positions<'_> {
    fn byte(&self, m: &Marker) -> u32 {
        match &self.index {
            None => off(m.index()),
            Some(idx) => off(idx.offset(self.text, m.line(), m.col())),
        }
    }
}

pub fn parse<'a>(text: &'a str, limits: &Limits) -> Result<Parsed<'a>, ParseError> {
    let pos = Positions {
        text,
        index: (!text.is_ascii()).then(|| LineIndex::new(text)),
    };
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame<'a>> = Vec::new();
    let mut anchors: HashMap<usize, (Node<'a>, usize)> = HashMap::new();
    let mut expanded: usize = 0;
    let mut out = Parsed {
        docs: Vec::new(),
        duplicates: Vec::new(),
    };
    loop {
        let (event, span): (Event<'a>, Span) = match parser.next_event() {
            None => break,
            Some(Ok(ev)) => ev,
            Some(Err(e)) => {
                return Err(ParseError::new(
                    pos.byte(e.marker()) as usize,
                    format!("invalid YAML: {}", e.info()),
                ))
            }
        };
        let start = pos.byte(&span.start);
        let end = pos.byte(&span.end);
        let done: Option<(Node<'a>, usize)> = match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => None,
            Event::DocumentEnd => {
                // Anchors do not cross documents.
                anchors.clear();
                None
            }
            Event::Alias(id) => {
                let Some((node, count)) = anchors.get(&id) else {
                    return Err(ParseError::new(
                        start as usize,
                        "alias refers to an anchor that is not complete here (a recursive alias)",
                    ));
                };
                expanded = expanded.saturating_add(*count);
                if expanded > limits.max_alias_nodes {
                    return Err(ParseError::new(
                        start as usize,
                        format!(
                            "alias expansion exceeds {} nodes (a \"billion laughs\" document?)",
                            limits.max_alias_nodes
                        ),
                    ));
                }
                let mut n = node.clone();
                n.start = start;
                n.end = end;
                Some((n, 0))
            }
            Event::Scalar(text, style, anchor, tag) => {
                let forced_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !forced_str {
                    resolve_plain(text)
                } else {
                    Value::Str(text)
                };
                Some((Node { start, end, value }, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                push_frame(&mut stack, limits, start)?;
                stack.push(Frame::Seq {
                    start,
                    anchor,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                push_frame(&mut stack, limits, start)?;
                stack.push(Frame::Map {
                    start,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    start,
                    anchor,
                    items,
                }) => {
                    let end = items.last().map_or(end, |n| n.end.max(start));
                    Some((
                        Node {
                            start,
                            end,
                            value: Value::Seq(items),
                        },
                        anchor,
                    ))
                }
                _ => return Err(ParseError::new(start as usize, "unbalanced sequence end")),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    start,
                    anchor,
                    entries,
                    key,
                }) => {
                    if key.is_some() {
                        return Err(ParseError::new(start as usize, "mapping key without value"));
                    }
                    let end = entries.last().map_or(end, |e| e.value.end.max(start));
                    let mut entries = entries;
                    drop_duplicate_keys(&mut entries, &mut out.duplicates);
                    let entries = apply_merge_keys(entries);
                    Some((
                        Node {
                            start,
                            end,
                            value: Value::Map(entries),
                        },
                        anchor,
                    ))
                }
                _ => return Err(ParseError::new(start as usize, "unbalanced mapping end")),
            },
        };
        let Some((node, anchor)) = done else {
            continue;
        };
        if anchor != 0 {
            // The copy kept for later aliases is charged too: nested anchors would otherwise
            // copy a large subtree once per level.
            let count = node.count();
            expanded = expanded.saturating_add(count);
            if expanded > limits.max_alias_nodes {
                return Err(ParseError::new(
                    node.start as usize,
                    format!(
                        "anchors and aliases exceed {} nodes (a \"billion laughs\" document?)",
                        limits.max_alias_nodes
                    ),
                ));
            }
            anchors.insert(anchor, (node.clone(), count));
        }
        match stack.last_mut() {
            None => out.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    let text = match node.value {
                        Value::Str(s) | Value::Number(s) => s,
                        Value::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
                        Value::Null => Cow::Borrowed(""),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(ParseError::new(
                                node.start as usize,
                                "complex mapping keys are not supported in OpenAPI documents",
                            ))
                        }
                    };
                    *key = Some((text, node.start, node.end));
                }
                Some((k, ks, ke)) => entries.push(Entry {
                    key: k,
                    key_start: ks,
                    key_end: ke,
                    value: node,
                }),
            },
        }
    }
    Ok(out)
}

/// YAML merge keys (`<<: *base`, `<<: [*a, *b]`), which hand-written specs use to share
/// parameters and responses: keys written in the mapping win, then earlier merged maps.
fn apply_merge_keys(entries: Vec<Entry<'_>>) -> Vec<Entry<'_>> {
    if !entries.iter().any(|e| e.key == "<<") {
        return entries;
    }
    let mut own = Vec::with_capacity(entries.len());
    let mut merged = Vec::new();
    for e in entries {
        if e.key != "<<" {
            own.push(e);
            continue;
        }
        match e.value.value {
            Value::Map(m) => merged.extend(m),
            Value::Seq(items) => {
                for item in items {
                    if let Value::Map(m) = item.value {
                        merged.extend(m);
                    }
                }
            }
            _ => {}
        }
    }
    for m in merged {
        if !own.iter().any(|e: &Entry<'_>| e.key == m.key) {
            own.push(m);
        }
    }
    own
}

fn push_frame(stack: &mut [Frame<'_>], limits: &Limits, start: u32) -> Result<(), ParseError> {
    if stack.len() >= limits.max_depth {
        return Err(ParseError::new(
            start as usize,
            format!(
                "nesting deeper than {} levels (raise `[openapi] max-depth` in the config)",
                limits.max_depth
            ),
        ));
    }
    Ok(())
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(text: Cow<'_, str>) -> Value<'_> {
    match &*text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        s if looks_numeric(s) => Value::Number(text),
        _ => Value::Str(text),
    }
}

fn looks_numeric(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    if matches!(body, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    if let Some(oct) = body.strip_prefix("0o") {
        return !oct.is_empty() && oct.chars().all(|c| matches!(c, '0'..='7'));
    }
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mut parts = mant.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    let mant_ok = digits(int)
        && frac.is_none_or(digits)
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mant_ok && exp_ok
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const LIMITS: Limits = Limits {
        max_depth: 64,
        max_alias_nodes: 10_000,
    };

    fn first(text: &str) -> Node<'_> {
        parse(text, &LIMITS).unwrap().docs.remove(0)
    }

    #[test]
    fn every_document_of_a_stream() {
        let text = "openapi: 3.0.0\na: 1\n---\nswagger: '2.0'\n...\n--- {openapi: 3.1.0}\n";
        let parsed = parse(text, &LIMITS).unwrap();
        assert_eq!(parsed.docs.len(), 3);
        assert_eq!(parsed.docs[1].get("swagger").unwrap().as_str(), Some("2.0"));
        assert_eq!(
            parsed.docs[2].get("openapi").unwrap().as_text().unwrap(),
            "3.1.0"
        );
        assert!(parse("", &LIMITS).unwrap().docs.is_empty());
    }

    #[test]
    fn duplicate_keys_keep_the_last_and_are_reported() {
        let text = "paths:\n  /a:\n    post: {operationId: one}\n    get: {}\n    post: {operationId: two}\n";
        let parsed = parse(text, &LIMITS).unwrap();
        let a = parsed.docs[0].get("paths").unwrap().get("/a").unwrap();
        assert_eq!(a.entries().len(), 2);
        let id = a.get("post").unwrap().get("operationId").unwrap();
        assert_eq!(id.as_str(), Some("two"));
        assert_eq!(parsed.duplicates.len(), 1);
        let d = &parsed.duplicates[0];
        assert_eq!((d.key.as_str(), d.first.0, d.second.0), ("post", 17, 58));
        // merge keys are not duplicates
        let merged = parse("b: &b {x: 1}\nc: &c {y: 1}\nm: {<<: *b, <<: *c}\n", &LIMITS).unwrap();
        assert!(merged.duplicates.is_empty());
    }

    #[test]
    fn spans_point_at_keys() {
        let text = "a:\n  b: 1\n  'c': [x, 2.5, true, ~]\nd: é\ne: ok\n";
        let root = first(text);
        let a = root.get("a").unwrap();
        let c = a.entry("c").unwrap();
        assert_eq!(&text[c.key_start as usize..c.key_start as usize + 3], "'c'");
        assert!(matches!(a.get("b").unwrap().value, Value::Number(_)));
        let items = c.value.items();
        assert_eq!(items[0].as_str(), Some("x"));
        assert!(matches!(items[2].value, Value::Bool(true)));
        assert!(matches!(items[3].value, Value::Null));
        // byte offsets after a multi-byte character
        let e = root.entry("e").unwrap();
        assert_eq!(&text[e.key_start as usize..e.key_start as usize + 1], "e");
    }

    #[test]
    fn aliases_expand_within_budget() {
        let text = "x: &a {k: v}\ny: *a\n";
        let root = first(text);
        assert_eq!(root.get("y").unwrap().get("k").unwrap().as_str(), Some("v"));
    }

    #[test]
    fn merge_keys() {
        let text = "base: &b {in: header, name: X}\nother: &o {schema: s, name: Y}\np:\n  <<: [*b, *o]\n  name: Idempotency-Key\n";
        let root = first(text);
        let p = root.get("p").unwrap();
        assert_eq!(p.get("name").unwrap().as_str(), Some("Idempotency-Key"));
        assert_eq!(p.get("in").unwrap().as_str(), Some("header"));
        assert_eq!(p.get("schema").unwrap().as_str(), Some("s"));
        assert_eq!(p.entries().len(), 3);
    }

    #[test]
    fn billion_laughs_stops_at_budget() {
        let mut text = String::from("a0: &a0 [lol]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"
            ));
        }
        let e = parse(&text, &LIMITS).unwrap_err();
        assert!(e.message.contains("exceed"), "{}", e.message);
    }

    #[test]
    fn depth_is_bounded() {
        let text = format!("{}x{}", "[".repeat(100), "]".repeat(100));
        let e = parse(&text, &LIMITS).unwrap_err();
        assert!(
            e.message.contains("nesting deeper than 64"),
            "{}",
            e.message
        );
        // saphyr's own flow-level limit (255) answers first for very deep flow nesting
        let text = format!("{}x{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&text, &LIMITS).is_err());
        let mut block = String::new();
        for i in 0..100 {
            block.push_str(&format!("{}k{i}:\n", "  ".repeat(i)));
        }
        let e = parse(&block, &LIMITS).unwrap_err();
        assert!(
            e.message.contains("nesting deeper than 64"),
            "{}",
            e.message
        );
    }

    #[test]
    fn numbers() {
        for n in ["1", "-2", "3.5", ".5", "1e3", "0x1F", "0o17", ".inf"] {
            assert!(looks_numeric(n), "{n}");
        }
        for s in ["1.2.3", "abc", "-", "1e", "0x", "2024-01-01"] {
            assert!(!looks_numeric(s), "{s}");
        }
    }
}
