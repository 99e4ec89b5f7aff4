//! A small JSON parser that keeps byte spans. Strings without escapes are borrowed from the
//! source; nesting deeper than the configured limit is an error (the parser recurses, and the
//! limit keeps it far from the stack's end).

use std::borrow::Cow;

use super::tree::{drop_duplicate_keys, off, Duplicate, Entry, Node, ParseError, Parsed, Value};

/// Parses one JSON text. A key repeated in one object is dropped but for its last occurrence,
/// and reported in [`Parsed::duplicates`].
pub fn parse(text: &str, max_depth: usize) -> Result<Parsed<'_>, ParseError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        max_depth,
        entries: Vec::new(),
        items: Vec::new(),
        duplicates: Vec::new(),
    };
    if text.starts_with('\u{feff}') {
        p.pos = 3;
    }
    p.ws();
    let root = p.value(0)?;
    p.ws();
    if p.pos < p.bytes.len() {
        return Err(ParseError::new(
            p.pos,
            "unexpected content after the end of the JSON document",
        ));
    }
    Ok(Parsed {
        docs: vec![root],
        duplicates: p.duplicates,
    })
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
    /// Scratch stacks: members are collected here and moved into exactly-sized vectors when
    /// their container closes.
    entries: Vec<Entry<'a>>,
    items: Vec<Node<'a>>,
    duplicates: Vec<Duplicate>,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while let Some(b) = self.bytes.get(self.pos) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eof(&self, what: &str) -> ParseError {
        ParseError::new(self.pos, format!("unexpected end of file, expected {what}"))
    }

    fn unexpected(&self, what: &str) -> ParseError {
        let found = self.text.get(self.pos..).and_then(|s| s.chars().next());
        match found {
            Some(c) => ParseError::new(self.pos, format!("expected {what}, found `{c}`")),
            None => self.eof(what),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node<'a>, ParseError> {
        let start = self.pos;
        let Some(b) = self.peek() else {
            return Err(self.eof("a value"));
        };
        let value = match b {
            b'{' => {
                self.depth_check(depth)?;
                self.object(depth)?
            }
            b'[' => {
                self.depth_check(depth)?;
                self.array(depth)?
            }
            b'"' => Value::Str(self.string()?),
            b't' => self.literal("true", Value::Bool(true))?,
            b'f' => self.literal("false", Value::Bool(false))?,
            b'n' => self.literal("null", Value::Null)?,
            b'-' | b'0'..=b'9' => Value::Number(Cow::Borrowed(self.number()?)),
            _ => return Err(self.unexpected("a value")),
        };
        Ok(Node {
            start: off(start),
            end: off(self.pos),
            value,
        })
    }

    fn depth_check(&self, depth: usize) -> Result<(), ParseError> {
        if depth >= self.max_depth {
            return Err(ParseError::new(
                self.pos,
                format!(
                    "nesting deeper than {} levels (raise `[openapi] max-depth` in the config)",
                    self.max_depth
                ),
            ));
        }
        Ok(())
    }

    fn literal(&mut self, word: &str, v: Value<'a>) -> Result<Value<'a>, ParseError> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.unexpected("a value"))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value<'a>, ParseError> {
        self.pos += 1; // {
        let base = self.entries.len();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Map(Vec::new()));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                self.entries.truncate(base);
                return Err(self.unexpected("a string key"));
            }
            let key_start = self.pos;
            let key = self.string()?;
            let key_end = self.pos;
            self.ws();
            if self.peek() != Some(b':') {
                self.entries.truncate(base);
                return Err(self.unexpected("`:` after an object key"));
            }
            self.pos += 1;
            self.ws();
            let value = self.value(depth + 1)?;
            self.entries.push(Entry {
                key,
                key_start: off(key_start),
                key_end: off(key_end),
                value,
            });
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => {
                    self.entries.truncate(base);
                    return Err(self.unexpected("`,` or `}` after an object member"));
                }
            }
        }
        let mut entries: Vec<Entry<'a>> = self.entries.drain(base..).collect();
        drop_duplicate_keys(&mut entries, &mut self.duplicates);
        Ok(Value::Map(entries))
    }

    fn array(&mut self, depth: usize) -> Result<Value<'a>, ParseError> {
        self.pos += 1; // [
        let base = self.items.len();
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Seq(Vec::new()));
        }
        loop {
            self.ws();
            let v = self.value(depth + 1)?;
            self.items.push(v);
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => {
                    self.items.truncate(base);
                    return Err(self.unexpected("`,` or `]` after an array element"));
                }
            }
        }
        Ok(Value::Seq(self.items.drain(base..).collect()))
    }

    fn string(&mut self) -> Result<Cow<'a, str>, ParseError> {
        let open = self.pos;
        self.pos += 1; // "
        let body = self.pos;
        let rest = self.bytes.get(body..).unwrap_or(&[]);
        match memchr::memchr2(b'"', b'\\', rest) {
            Some(i) if rest.get(i) == Some(&b'"') => {
                self.pos = body + i + 1;
                Ok(Cow::Borrowed(self.text.get(body..body + i).unwrap_or("")))
            }
            Some(i) => {
                let mut out = String::from(self.text.get(body..body + i).unwrap_or(""));
                self.pos = body + i;
                self.escaped(&mut out, open)?;
                Ok(Cow::Owned(out))
            }
            None => Err(ParseError::new(open, "unterminated string")),
        }
    }

    /// Continues a string at a backslash, unescaping into `out` up to the closing quote.
    fn escaped(&mut self, out: &mut String, open: usize) -> Result<(), ParseError> {
        loop {
            let rest = self.bytes.get(self.pos..).unwrap_or(&[]);
            let Some(i) = memchr::memchr2(b'"', b'\\', rest) else {
                return Err(ParseError::new(open, "unterminated string"));
            };
            out.push_str(self.text.get(self.pos..self.pos + i).unwrap_or(""));
            self.pos += i;
            if self.peek() == Some(b'"') {
                self.pos += 1;
                return Ok(());
            }
            let esc_at = self.pos;
            self.pos += 1;
            let Some(c) = self.peek() else {
                return Err(ParseError::new(open, "unterminated string"));
            };
            self.pos += 1;
            match c {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let hi = self.hex4(esc_at)?;
                    let ch = if (0xD800..0xDC00).contains(&hi)
                        && self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u")
                    {
                        let save = self.pos;
                        self.pos += 2;
                        let lo = self.hex4(esc_at)?;
                        if (0xDC00..0xE000).contains(&lo) {
                            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                        } else {
                            self.pos = save;
                            None
                        }
                    } else {
                        char::from_u32(hi)
                    };
                    out.push(ch.unwrap_or('\u{fffd}'));
                }
                _ => {
                    return Err(ParseError::new(esc_at, "invalid escape in string"));
                }
            }
        }
    }

    fn hex4(&mut self, esc_at: usize) -> Result<u32, ParseError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| ParseError::new(esc_at, "invalid \\u escape in string"))?;
        let n = u32::from_str_radix(digits, 16)
            .map_err(|_| ParseError::new(esc_at, "invalid \\u escape in string"))?;
        self.pos += 4;
        Ok(n)
    }

    fn number(&mut self) -> Result<&'a str, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos > s
        };
        if !digits(self) {
            return Err(self.unexpected("a digit"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(self.unexpected("a digit after `.`"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(self.unexpected("a digit in the exponent"));
            }
        }
        Ok(self.text.get(start..self.pos).unwrap_or("0"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn parses_with_spans() {
        let text = r#"{"a": [1, -2.5e3, true, null], "b\n": "x\u00e9\ud83d\ude00", "c": {}}"#;
        let root = &parse(text, 64).unwrap().docs[0];
        let a = root.entry("a").unwrap();
        assert_eq!(&text[a.key_start as usize..a.key_end as usize], "\"a\"");
        assert_eq!(a.value.items().len(), 4);
        assert_eq!(root.get("b\n").unwrap().as_str(), Some("xé😀"));
        assert!(root.get("c").unwrap().is_map());
    }

    #[test]
    fn duplicate_keys_keep_the_last_and_are_reported() {
        let text = r#"{"post": 1, "get": 2, "post": 3}"#;
        let parsed = parse(text, 64).unwrap();
        let root = &parsed.docs[0];
        assert_eq!(root.entries().len(), 2);
        assert_eq!(root.get("post").unwrap().as_u64(), Some(3));
        let d = &parsed.duplicates[0];
        assert_eq!(d.key, "post");
        assert_eq!(&text[d.first.0 as usize..d.first.1 as usize], "\"post\"");
        assert_eq!(d.first.0, 1);
        assert_eq!(d.second.0, 22);
    }

    #[test]
    fn errors_have_offsets() {
        let e = parse(r#"{"a": 1,, }"#, 64).unwrap_err();
        assert_eq!(e.offset, 8);
        let e = parse(r#"{"a": "#, 64).unwrap_err();
        assert!(e.message.contains("end of file"), "{}", e.message);
        let e = parse(r#"{"a": 1} x"#, 64).unwrap_err();
        assert!(e.message.contains("after the end"));
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(100_000);
        let e = parse(&deep, 256).unwrap_err();
        assert!(e.message.contains("nesting deeper than 256"));
    }
}
