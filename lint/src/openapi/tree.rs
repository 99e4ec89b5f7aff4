//! The small document tree both parsers build: values with byte spans, strings borrowed from
//! the source where no unescaping was needed. Positions are byte offsets; line and column are
//! computed only for the few nodes that end up in facts.

use std::borrow::Cow;

/// A value and the byte range it spans in its file.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    pub start: u32,
    pub end: u32,
    pub value: Value<'a>,
}

#[derive(Debug, Clone)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// A number, kept as written.
    Number(Cow<'a, str>),
    Str(Cow<'a, str>),
    Seq(Vec<Node<'a>>),
    Map(Vec<Entry<'a>>),
}

/// One key of a mapping, with the span of the key itself (where findings point).
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub key: Cow<'a, str>,
    pub key_start: u32,
    pub key_end: u32,
    pub value: Node<'a>,
}

impl<'a> Node<'a> {
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.entry(key).map(|e| &e.value)
    }

    /// The entry for `key`; the last one wins when a key is repeated (as in most JSON parsers).
    pub fn entry(&self, key: &str) -> Option<&Entry<'a>> {
        match &self.value {
            Value::Map(entries) => entries.iter().rev().find(|e| e.key == key),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[Entry<'a>] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node<'a>] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar as text (strings, numbers and booleans): what YAML users write unquoted.
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match &self.value {
            Value::Str(s) | Value::Number(s) => Some(Cow::Borrowed(s)),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match &self.value {
            Value::Number(n) => n.parse::<u64>().ok().or_else(|| {
                n.parse::<f64>()
                    .ok()
                    .filter(|f| *f >= 0.0)
                    .map(|f| f as u64)
            }),
            _ => None,
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// The `$ref` of a reference object.
    pub fn ref_target(&self) -> Option<(&str, &Entry<'a>)> {
        let e = self.entry("$ref")?;
        e.value.as_str().map(|s| (s, e))
    }

    /// Copies every borrowed string, for trees that must outlive their source text.
    pub fn into_owned(self) -> Node<'static> {
        Node {
            start: self.start,
            end: self.end,
            value: match self.value {
                Value::Null => Value::Null,
                Value::Bool(b) => Value::Bool(b),
                Value::Number(n) => Value::Number(Cow::Owned(n.into_owned())),
                Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
                Value::Seq(items) => Value::Seq(items.into_iter().map(Node::into_owned).collect()),
                Value::Map(entries) => Value::Map(
                    entries
                        .into_iter()
                        .map(|e| Entry {
                            key: Cow::Owned(e.key.into_owned()),
                            key_start: e.key_start,
                            key_end: e.key_end,
                            value: e.value.into_owned(),
                        })
                        .collect(),
                ),
            },
        }
    }

    /// How many nodes the tree holds (the alias-expansion budget counts these).
    pub fn count(&self) -> usize {
        1 + match &self.value {
            Value::Seq(items) => items.iter().map(Node::count).sum(),
            Value::Map(entries) => entries.iter().map(|e| 1 + e.value.count()).sum(),
            _ => 0,
        }
    }
}

/// A mapping key written twice in one mapping. The tree keeps the last one (as most YAML and
/// JSON readers do); the first is reported, never analysed alongside it.
#[derive(Debug, Clone)]
pub struct Duplicate {
    pub key: String,
    /// The key span of the earlier entry.
    pub first: (u32, u32),
    /// The key span of the entry that is kept.
    pub second: (u32, u32),
}

/// What a parser read from one file: its documents (a YAML stream may hold several; JSON holds
/// one) and the duplicate mapping keys it dropped.
#[derive(Debug)]
pub struct Parsed<'a> {
    pub docs: Vec<Node<'a>>,
    pub duplicates: Vec<Duplicate>,
}

/// Removes every entry whose key is written again later in the same mapping, recording each
/// pair in `out`. YAML merge keys (`<<`) are not keys of the mapping and are left alone.
pub fn drop_duplicate_keys(entries: &mut Vec<Entry<'_>>, out: &mut Vec<Duplicate>) {
    let n = entries.len();
    if n < 2 {
        return;
    }
    // (earlier index, later index) for each repeated key.
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    if n <= 12 {
        for j in 1..n {
            let key = &entries[j].key;
            if key == "<<" {
                continue;
            }
            // The most recent earlier entry with this key (each pair is reported once).
            if let Some(i) = (0..j).rev().find(|i| entries[*i].key == *key) {
                pairs.push((i, j));
            }
        }
    } else {
        let mut last: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::with_capacity(n);
        for (j, e) in entries.iter().enumerate() {
            if e.key == "<<" {
                continue;
            }
            if let Some(i) = last.insert(&e.key, j) {
                pairs.push((i, j));
            }
        }
    }
    if pairs.is_empty() {
        return;
    }
    let mut dropped = vec![false; n];
    for (i, j) in &pairs {
        let (a, b) = (&entries[*i], &entries[*j]);
        out.push(Duplicate {
            key: b.key.to_string(),
            first: (a.key_start, a.key_end),
            second: (b.key_start, b.key_end),
        });
        dropped[*i] = true;
    }
    let mut k = 0;
    entries.retain(|_| {
        let keep = !dropped.get(k).copied().unwrap_or(false);
        k += 1;
        keep
    });
}

/// A parse failure at a byte offset.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(offset: usize, message: impl Into<String>) -> Self {
        ParseError {
            offset,
            message: message.into(),
        }
    }
}

/// Byte offsets are kept as `u32`: files are capped far below 4 GiB before parsing.
pub fn off(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
