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
