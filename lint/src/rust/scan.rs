//! A cheap lexical pass over a whole file, before any parsing.
//!
//! It does three jobs in one scan of the bytes:
//! - guards the parser: delimiter nesting and operator chains are bounded, strings, comments
//!   and delimiters must be closed (a file failing here is reported, never parsed);
//! - splits the file into top-level items (descending into inline `mod x { … }`);
//! - decides which items can matter to a rule (routes, retries, policies, keys, exemptions),
//!   so that only those are parsed with syn. Everything else is recorded from the tokens
//!   alone (function names for handler resolution, `mod x;` declarations).

use idemgate_grammar::vocab;

/// Deepest delimiter nesting accepted.
pub const MAX_DEPTH: usize = 256;
/// Most tokens at one nesting level between separators: longer chains make syn and its
/// visitors recurse once per token.
pub const MAX_CHAIN: u32 = 10_000;

/// Why an item must be parsed in full.
pub mod flag {
    /// A failure pattern (`Err(..) =>`, `if let Ok(..)`, `.is_err()`, …) inside a loop.
    pub const LOOP_FAIL: u32 = 1;
    /// A failure pattern anywhere.
    pub const FAIL: u32 = 1 << 1;
    pub const SELF_CALL: u32 = 1 << 2;
    pub const ATTR: u32 = 1 << 3;
    pub const ROUTER: u32 = 1 << 4;
    pub const KEY: u32 = 1 << 5;
    pub const RETRY_LIB: u32 = 1 << 6;
    pub const OUTBOUND: u32 = 1 << 7;
    pub const MACRO_RULES: u32 = 1 << 8;
    pub const COMMENT: u32 = 1 << 9;
    /// `#[test]`, `#[tokio::test]`, `#[cfg(test)]`: test code is not checked.
    pub const TEST: u32 = 1 << 10;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Fn,
    Use,
    /// `mod x;`
    ModDecl,
    /// `mod x { … }` parsed as a whole (it carries an interesting attribute).
    ModInline,
    Impl,
    MacroCall,
    Other,
}

/// One top-level item (or an item of an inline module).
#[derive(Debug, Clone)]
pub struct ItemChunk {
    pub start: usize,
    pub end: usize,
    /// Inline module path inside the file.
    pub module: Vec<String>,
    pub kind: ItemKind,
    /// Byte range of the item's name (fn, mod, macro name).
    pub name: Option<(usize, usize)>,
    pub flags: u32,
    /// For an `impl` block: the self type's name and the methods' names (byte ranges), so
    /// `Type::method` handlers resolve without parsing the block.
    pub impl_type: Option<(usize, usize)>,
    pub methods: Vec<Method>,
}

/// A method of an `impl` block, found by the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Method {
    /// Byte range of the name.
    pub name: (usize, usize),
    /// Byte range of the whole method (attributes, qualifiers, signature and body), which
    /// parses alone as a `syn::ItemFn`: its body is read without parsing the block around it.
    pub span: (usize, usize),
}

impl ItemChunk {
    /// Whether syn must parse this item.
    pub fn deep(&self) -> bool {
        use flag::*;
        let f = self.flags;
        if f & TEST != 0 {
            return false;
        }
        if matches!(self.kind, ItemKind::Use | ItemKind::ModInline) {
            return true;
        }
        if matches!(self.kind, ItemKind::ModDecl) {
            return f & (ATTR | COMMENT) != 0;
        }
        f & LOOP_FAIL != 0
            || (f & SELF_CALL != 0 && f & FAIL != 0)
            || f & (ATTR | ROUTER | KEY | RETRY_LIB | OUTBOUND | MACRO_RULES | COMMENT) != 0
    }
}

/// A `// idemgate: allow(ID) reason: …` comment.
#[derive(Debug, Clone)]
pub struct AllowComment {
    pub start: usize,
    pub end: usize,
    /// The text after `idemgate:`.
    pub body: String,
}

#[derive(Debug)]
pub struct Scan {
    pub items: Vec<ItemChunk>,
    pub comments: Vec<AllowComment>,
}

/// A lexical error: what and where (byte offset).
#[derive(Debug)]
pub struct ScanError {
    pub offset: usize,
    pub message: String,
}

#[derive(Default)]
struct Item {
    start: Option<usize>,
    head: Option<&'static str>,
    name: Option<(usize, usize)>,
    flags: u32,
    /// After `fn`: the next identifier is a function name.
    want_fn_name: bool,
    want_mod_name: bool,
    want_macro_name: bool,
    cur_fn: Option<(usize, usize)>,
    /// Only `;` ends the item (`const`, `static`, `use`, `type`, `let`).
    semi_only: bool,
    prev_ident_else: bool,
    /// `impl` header: `<…>` nesting, the self type so far, and whether `where` began.
    impl_angle: i32,
    impl_type: Option<(usize, usize)>,
    impl_where: bool,
    /// Methods of an `impl` block, and where the member being read began.
    methods: Vec<Method>,
    member_start: usize,
    /// The last method whose end is not seen yet.
    open_method: bool,
}

struct Module {
    name: String,
    /// Depth inside the module's braces.
    depth: usize,
}

pub fn scan(text: &str) -> Result<Scan, ScanError> {
    Scanner::new(text).run()
}

struct Scanner<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    opens: Vec<(u8, usize)>,
    chain: Vec<u32>,
    items: Vec<ItemChunk>,
    comments: Vec<AllowComment>,
    modules: Vec<Module>,
    item: Item,
    /// `#[` seen: depth of the attribute's bracket while inside it.
    attr_depth: Option<usize>,
    pending_comment: bool,
    last_punct: u8,
    /// The punctuation right before the current identifier.
    prev_punct: u8,
    /// `not` seen in the current attribute (`#[cfg(not(test))]` is not test code).
    attr_not: bool,
    /// A loop keyword was seen and its body is not open yet.
    pending_loop: bool,
    /// Depths of the open loop bodies.
    loop_depths: Vec<usize>,
    /// The token before the current one was `let`.
    prev_let: bool,
    prev_let_now: bool,
    /// `Ok(`/`Err(` opened at this depth: a pattern if `=>`, `if` or `|` follows the `)`.
    variant_at: Option<usize>,
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, ScanError> {
    Err(ScanError {
        offset,
        message: message.into(),
    })
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            text,
            b: text.as_bytes(),
            i: 0,
            opens: Vec::new(),
            chain: vec![0],
            items: Vec::new(),
            comments: Vec::new(),
            modules: Vec::new(),
            item: Item::default(),
            attr_depth: None,
            pending_comment: false,
            last_punct: 0,
            prev_punct: 0,
            attr_not: false,
            pending_loop: false,
            loop_depths: Vec::new(),
            prev_let: false,
            prev_let_now: false,
            variant_at: None,
        }
    }

    fn depth(&self) -> usize {
        self.opens.len()
    }

    fn item_level(&self) -> usize {
        self.modules.last().map_or(0, |m| m.depth)
    }

    fn run(mut self) -> Result<Scan, ScanError> {
        // A byte-order mark is allowed before the first token.
        if self.b.starts_with("\u{feff}".as_bytes()) {
            self.i = 3;
        }
        // A shebang line is not Rust.
        if self.b[self.i..].starts_with(b"#!")
            && !self.text[self.i + 2..].trim_start().starts_with('[')
        {
            self.i = self
                .b
                .iter()
                .position(|&c| c == b'\n')
                .unwrap_or(self.b.len());
        }
        while self.i < self.b.len() {
            let c = self.b[self.i];
            match c {
                b' ' | b'\t' | b'\n' | b'\r' => self.i += 1,
                b'/' if self.b.get(self.i + 1) == Some(&b'/') => self.line_comment(),
                b'/' if self.b.get(self.i + 1) == Some(&b'*') => self.block_comment()?,
                b'"' => {
                    self.token_start();
                    self.string(self.i + 1)?;
                    self.count()?;
                }
                b'\'' => {
                    self.token_start();
                    self.quote()?;
                    self.count()?;
                }
                b'(' | b'[' | b'{' => {
                    self.token_start();
                    self.count()?;
                    if c == b'[' && self.last_punct == b'#' && self.attr_depth.is_none() {
                        self.attr_depth = Some(self.depth() + 1);
                        self.attr_not = false;
                    }
                    self.opens.push((c, self.i));
                    if self.depth() > MAX_DEPTH {
                        return err(
                            self.i,
                            format!(
                                "nesting too deep (more than {MAX_DEPTH} levels of delimiters)"
                            ),
                        );
                    }
                    self.chain.push(0);
                    self.i += 1;
                    self.last_punct = c;
                    if c == b'{' {
                        if self.pending_loop {
                            self.pending_loop = false;
                            self.loop_depths.push(self.depth());
                        }
                        self.open_brace();
                    }
                }
                b')' | b']' | b'}' => {
                    let want = match c {
                        b')' => b'(',
                        b']' => b'[',
                        _ => b'{',
                    };
                    match self.opens.pop() {
                        Some((o, _)) if o == want => {}
                        Some((o, at)) => {
                            return err(
                                self.i,
                                format!(
                                "mismatched closing delimiter `{}` (opened with `{}` at byte {at})",
                                c as char, o as char
                            ),
                            )
                        }
                        None => {
                            return err(
                                self.i,
                                format!("unexpected closing delimiter `{}`", c as char),
                            )
                        }
                    }
                    self.chain.pop();
                    if self.loop_depths.last().is_some_and(|&d| d > self.depth()) {
                        self.loop_depths.pop();
                    }
                    if self.variant_at == Some(self.depth()) {
                        self.variant_at = None;
                        let rest = self.b[self.i + 1..]
                            .iter()
                            .position(|c| !c.is_ascii_whitespace());
                        let rest = rest.map_or(&self.b[0..0], |p| &self.b[self.i + 1 + p..]);
                        if rest.starts_with(b"=>")
                            || rest.starts_with(b"if ")
                            || (rest.starts_with(b"|") && !rest.starts_with(b"||"))
                        {
                            self.fail_pattern();
                        }
                    }
                    if self.attr_depth.is_some_and(|d| d > self.depth()) {
                        self.attr_depth = None;
                    }
                    self.i += 1;
                    self.last_punct = c;
                    self.close(c);
                }
                b';' | b',' => {
                    self.token_start();
                    if let Some(n) = self.chain.last_mut() {
                        *n = 0;
                    }
                    self.i += 1;
                    self.last_punct = c;
                    if c == b';' && self.depth() == self.item_level() {
                        self.end_item(self.i);
                    } else if c == b';' {
                        self.end_member();
                    }
                }
                b'0'..=b'9' => {
                    self.token_start();
                    while self.i < self.b.len()
                        && (self.b[self.i].is_ascii_alphanumeric() || self.b[self.i] == b'_')
                    {
                        self.i += 1;
                    }
                    self.count()?;
                    self.last_punct = 0;
                }
                c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => self.ident()?,
                _ => {
                    self.token_start();
                    self.count()?;
                    if c == b'>' && self.last_punct == b'=' {
                        // a match arm ends: `=>` separates like `,`
                        self.reset_chain();
                    }
                    if self.item.head == Some("impl") && self.depth() == self.item_level() {
                        if c == b'<' {
                            self.item.impl_angle += 1;
                        } else if c == b'>' && self.last_punct != b'-' {
                            self.item.impl_angle -= 1;
                        }
                    }
                    self.i += 1;
                    self.last_punct = c;
                }
            }
        }
        if let Some(&(o, at)) = self.opens.last() {
            return err(at, format!("unclosed delimiter `{}`", o as char));
        }
        self.end_item(self.b.len());
        Ok(Scan {
            items: self.items,
            comments: self.comments,
        })
    }

    fn count(&mut self) -> Result<(), ScanError> {
        if let Some(n) = self.chain.last_mut() {
            *n += 1;
            if *n > MAX_CHAIN {
                return err(
                    self.i,
                    format!(
                        "expression too long (more than {MAX_CHAIN} tokens without a separator)"
                    ),
                );
            }
        }
        Ok(())
    }

    fn reset_chain(&mut self) {
        if let Some(n) = self.chain.last_mut() {
            *n = 0;
        }
    }

    fn fail_pattern(&mut self) {
        self.item.flags |= flag::FAIL;
        if self.pending_loop || !self.loop_depths.is_empty() {
            self.item.flags |= flag::LOOP_FAIL;
        }
    }

    /// A token begins: at item level with no item open, an item starts here.
    fn token_start(&mut self) {
        self.prev_let_now = std::mem::take(&mut self.prev_let);
        if self.item.start.is_none() && self.depth() == self.item_level() {
            self.item.start = Some(self.i);
            if std::mem::take(&mut self.pending_comment) {
                self.item.flags |= flag::COMMENT;
            }
        }
    }

    fn line_comment(&mut self) {
        let start = self.i;
        let end = memchr(b'\n', &self.b[start..]).map_or(self.b.len(), |p| start + p);
        // `// idemgate: allow(…)`: the comment starts with it; doc comments never count
        let body = self.text.get(start + 2..end).unwrap_or("");
        let is_doc = body.starts_with('/') || body.starts_with('!');
        if let Some(rest) = body
            .trim_start()
            .strip_prefix("idemgate:")
            .filter(|_| !is_doc)
        {
            let rest = rest.trim();
            if rest.starts_with("allow") {
                self.comments.push(AllowComment {
                    start,
                    end,
                    body: rest.to_string(),
                });
                if self.item.start.is_some() {
                    self.item.flags |= flag::COMMENT;
                } else {
                    self.pending_comment = true;
                }
            }
        }
        self.i = end;
    }

    fn block_comment(&mut self) -> Result<(), ScanError> {
        let start = self.i;
        let mut nest = 0usize;
        while self.i < self.b.len() {
            if self.b[self.i] == b'/' && self.b.get(self.i + 1) == Some(&b'*') {
                nest += 1;
                self.i += 2;
            } else if self.b[self.i] == b'*' && self.b.get(self.i + 1) == Some(&b'/') {
                nest -= 1;
                self.i += 2;
                if nest == 0 {
                    return Ok(());
                }
            } else {
                self.i += 1;
            }
        }
        err(start, "unterminated block comment")
    }

    /// A string body starting at `from` (after the opening quote).
    fn string(&mut self, from: usize) -> Result<(), ScanError> {
        let start = self.i;
        let mut j = from;
        while j < self.b.len() {
            match self.b[j] {
                b'\\' => j += 2,
                b'"' => {
                    self.check_string(from, j);
                    self.i = j + 1;
                    self.skip_suffix();
                    return Ok(());
                }
                _ => j += 1,
            }
        }
        err(start, "unterminated string literal")
    }

    fn raw_string(&mut self, hashes_from: usize) -> Result<(), ScanError> {
        let start = self.i;
        let mut j = hashes_from;
        let mut hashes = 0;
        while self.b.get(j) == Some(&b'#') {
            hashes += 1;
            j += 1;
        }
        if self.b.get(j) != Some(&b'"') {
            return err(start, "malformed raw string literal");
        }
        let body = j + 1;
        let mut k = body;
        while k < self.b.len() {
            if self.b[k] == b'"'
                && self.b[k + 1..]
                    .iter()
                    .take(hashes)
                    .filter(|&&c| c == b'#')
                    .count()
                    == hashes
            {
                self.check_string(body, k);
                self.i = k + 1 + hashes;
                self.skip_suffix();
                return Ok(());
            }
            k += 1;
        }
        err(start, "unterminated raw string literal")
    }

    fn skip_suffix(&mut self) {
        while self.i < self.b.len()
            && (self.b[self.i].is_ascii_alphanumeric() || self.b[self.i] == b'_')
        {
            self.i += 1;
        }
        self.last_punct = 0;
    }

    fn check_string(&mut self, from: usize, to: usize) {
        let s = &self.b[from..to];
        if matches!(s, b"POST" | b"PATCH" | b"post" | b"patch") {
            // `.method("POST")`
            self.item.flags |= flag::OUTBOUND;
        }
        if s.len() >= 10 && (contains(s, b"dempotency") || contains(s, b"DEMPOTENCY")) {
            self.item.flags |= flag::KEY;
        }
    }

    /// `'`: a char literal or a lifetime/label.
    fn quote(&mut self) -> Result<(), ScanError> {
        let start = self.i;
        let next = self.b.get(start + 1).copied();
        match next {
            Some(b'\\') => {
                let mut j = start + 2;
                // skip the escaped char, then find the closing quote on this line
                j += 1;
                while j < self.b.len() && self.b[j] != b'\'' && self.b[j] != b'\n' {
                    j += 1;
                }
                if self.b.get(j) != Some(&b'\'') {
                    return err(start, "unterminated character literal");
                }
                self.i = j + 1;
            }
            Some(_) => {
                let ch_len = self.text[start + 1..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
                if self.b.get(start + 1 + ch_len) == Some(&b'\'') {
                    self.i = start + 2 + ch_len;
                } else {
                    // lifetime or label
                    let mut j = start + 1;
                    while j < self.b.len()
                        && (self.b[j].is_ascii_alphanumeric()
                            || self.b[j] == b'_'
                            || self.b[j] >= 0x80)
                    {
                        j += 1;
                    }
                    self.i = j.max(start + 1);
                }
            }
            None => return err(start, "unterminated character literal"),
        }
        self.last_punct = 0;
        Ok(())
    }

    fn ident(&mut self) -> Result<(), ScanError> {
        let start = self.i;
        let mut j = start;
        while j < self.b.len()
            && (self.b[j].is_ascii_alphanumeric() || self.b[j] == b'_' || self.b[j] >= 0x80)
        {
            j += 1;
        }
        // `text[start..j]` may end inside a multi-byte char only if the input is not UTF-8,
        // which `&str` rules out; still, be defensive.
        let word = self.text.get(start..j).unwrap_or("");
        // literal prefixes
        match (word, self.b.get(j).copied()) {
            ("r" | "br" | "cr", Some(b'"' | b'#')) => {
                if word == "r"
                    && self.b.get(j) == Some(&b'#')
                    && self
                        .b
                        .get(j + 1)
                        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
                {
                    // raw identifier r#name
                    self.i = j + 1;
                    return self.ident();
                }
                self.token_start();
                self.i = start;
                self.raw_string(j)?;
                return self.count();
            }
            ("b" | "c", Some(b'"')) => {
                self.token_start();
                self.i = start;
                self.string(j + 1)?;
                return self.count();
            }
            ("b", Some(b'\'')) => {
                self.token_start();
                self.i = j;
                self.quote()?;
                return self.count();
            }
            _ => {}
        }
        self.token_start();
        self.count()?;
        self.i = j;
        let after_bang = self.b.get(j) == Some(&b'!');
        self.prev_punct = self.last_punct;
        self.last_punct = 0;
        self.on_word(word, start, j, after_bang);
        Ok(())
    }

    fn on_word(&mut self, word: &str, start: usize, end: usize, bang: bool) {
        use flag::*;
        // `.route(`, `web::resource(`: a method or path call, not a variable named `to`
        let called = matches!(self.prev_punct, b'.' | b':') && self.b.get(end) == Some(&b'(');
        let at_level = self.depth() == self.item_level();
        let in_impl_body = self.depth() == self.item_level() + 1;
        let it = &mut self.item;
        if it.want_fn_name {
            it.want_fn_name = false;
            it.cur_fn = Some((start, end));
            if it.name.is_none() && it.head == Some("fn") {
                it.name = Some((start, end));
            }
            if it.head == Some("impl") && in_impl_body {
                it.methods.push(Method {
                    name: (start, end),
                    span: (it.member_start, end),
                });
                it.open_method = true;
            }
            return;
        }
        if at_level && it.head == Some("impl") && !it.impl_where && it.impl_angle == 0 {
            match word {
                "for" => it.impl_type = None,
                "where" => it.impl_where = true,
                "impl" | "dyn" | "mut" | "const" | "unsafe" => {}
                _ => it.impl_type = Some((start, end)),
            }
        }
        if it.want_mod_name {
            it.want_mod_name = false;
            it.name = Some((start, end));
            return;
        }
        if it.want_macro_name {
            it.want_macro_name = false;
            it.name = Some((start, end));
        }
        if let Some((s, e)) = it.cur_fn {
            if e - s == end - start && self.b[s..e] == self.b[start..end] {
                it.flags |= SELF_CALL;
            }
        }
        // chain separators: statement and item keywords
        let resets = matches!(
            word,
            "loop"
                | "while"
                | "for"
                | "match"
                | "let"
                | "fn"
                | "pub"
                | "struct"
                | "enum"
                | "impl"
                | "mod"
                | "use"
                | "const"
                | "static"
                | "type"
                | "trait"
        ) || (word == "if" && !it.prev_ident_else);
        it.prev_ident_else = word == "else";
        if at_level && it.head.is_none() {
            match word {
                "fn" => it.head = Some("fn"),
                "mod" => {
                    it.head = Some("mod");
                    it.want_mod_name = true;
                }
                "use" => {
                    it.head = Some("use");
                    it.semi_only = true;
                }
                "impl" => it.head = Some("impl"),
                "trait" => it.head = Some("trait"),
                "struct" | "enum" | "union" => it.head = Some("type"),
                "static" | "type" | "let" => {
                    it.head = Some("value");
                    it.semi_only = true;
                }
                "const" => {
                    // `const fn` is a function; otherwise a value ending at `;`
                    let rest = self.text[end..].trim_start();
                    if rest.starts_with("fn")
                        || rest.starts_with("async")
                        || rest.starts_with("unsafe")
                    {
                    } else {
                        it.head = Some("value");
                        it.semi_only = true;
                    }
                }
                "extern" => {
                    let rest = self.text[end..].trim_start();
                    if rest.starts_with("crate") {
                        it.head = Some("use");
                        it.semi_only = true;
                    }
                }
                "macro_rules" if bang => {
                    it.head = Some("macro");
                    it.want_macro_name = true;
                    it.flags |= MACRO_RULES;
                }
                "pub" | "crate" | "async" | "unsafe" | "default" | "auto" => {}
                _ if bang => {
                    it.head = Some("macro");
                    it.name = Some((start, end));
                }
                _ => {}
            }
        }
        if word == "fn" {
            self.item.want_fn_name = true;
        }
        if resets {
            self.reset_chain();
        }
        match word {
            "loop" | "while" | "for" if !at_level => self.pending_loop = true,
            "let" => self.prev_let = true,
            "Ok" | "Err" => {
                if self.prev_let_now {
                    self.fail_pattern();
                } else if self.b.get(end) == Some(&b'(') {
                    self.variant_at = Some(self.depth());
                }
            }
            "is_err" | "is_ok" => self.fail_pattern(),
            // failure handlers that matter to recursion only
            "or_else" | "unwrap_or_else" => self.item.flags |= flag::FAIL,
            _ => {}
        }
        let in_attr = self.attr_depth.is_some();
        // an attribute of the item itself, not of something inside its body
        if self.attr_depth == Some(self.item_level() + 1) {
            match word {
                // `cfg(not(test))`, `cfg(any(test, feature = "x"))`: not test-only code
                "not" | "any" => self.attr_not = true,
                "test" if !self.attr_not => self.item.flags |= TEST,
                _ => {}
            }
        }
        let it = &mut self.item;
        it.flags |= match word {
            "idemgate" | "oai" | "OpenApi" => ATTR,
            w if vocab::ATTRIBUTES.contains(&w) => ATTR,
            "get" | "put" | "delete" | "head" | "options" | "trace" | "route" | "path"
            | "handler"
                if in_attr =>
            {
                ATTR
            }
            "post" | "patch" | "POST" | "PATCH" => {
                if in_attr {
                    ATTR | OUTBOUND
                } else {
                    OUTBOUND
                }
            }
            "route" | "route_layer" | "nest" | "nest_service" | "at" | "resource" | "scope"
            | "api_route" | "api_route_with" | "nest_api_service" | "nest_api" | "configure"
            | "service" | "wrap" | "layer" | "to" | "merge" | "mount" | "with"
                if called =>
            {
                ROUTER
            }
            "Router" | "Route" | "App" if self.b.get(end) == Some(&b':') => ROUTER,
            // rocket `routes![…]`, and functions that build routes (`accounts::routes()`)
            "routes" if self.b.get(end) == Some(&b'!') => ROUTER,
            w if (w.ends_with("routes") || w.ends_with("router"))
                && self.b.get(end) == Some(&b'(') =>
            {
                ROUTER
            }
            // retry crates and their entry points: the shared vocabulary (RETRY004)
            w if vocab::is_retry_word(w) => RETRY_LIB,
            "macro_rules" => MACRO_RULES,
            w if w.len() >= 10 && (w.contains("dempotency") || w.contains("DEMPOTENCY")) => KEY,
            _ => 0,
        };
    }

    fn open_brace(&mut self) {
        // `mod name {` at item level: descend, unless the module carries an interesting
        // attribute (then it is parsed as one item).
        let d = self.depth();
        if d == self.item_level() + 1 && self.item.head == Some("impl") {
            // the body of an impl block: its first member begins here
            self.item.member_start = self.i;
        }
        if d == self.item_level() + 1
            && self.item.head == Some("mod")
            && self.item.flags & (flag::ATTR | flag::COMMENT | flag::TEST) == 0
        {
            if let Some((s, e)) = self.item.name {
                let name = self.text[s..e].to_string();
                self.modules.push(Module { name, depth: d });
                self.item = Item::default();
            }
        }
    }

    fn close(&mut self, c: u8) {
        let d = self.depth();
        if let Some(m) = self.modules.last() {
            if d + 1 == m.depth && c == b'}' {
                // end of an inline module
                self.end_item(self.i - 1);
                self.modules.pop();
                self.item = Item::default();
                return;
            }
        }
        if c == b'}' {
            self.end_member();
        }
        if c == b'}' && d == self.item_level() && !self.item.semi_only {
            // A `}` that ends a `{ … }` attribute-free macro call or item body.
            if self.attr_depth.is_none() {
                self.end_item(self.i);
            }
        } else if c == b']' && d == self.item_level() {
            // `#![inner]` attributes stand alone
            if let Some(s) = self.item.start {
                if self.b[s..].starts_with(b"#!") {
                    self.end_item(self.i);
                }
            }
        }
    }

    /// After a `;` or `}` that may end a member of an impl block (a method's body, an
    /// associated const or type, a macro call): the next member begins after it.
    fn end_member(&mut self) {
        if self.item.head != Some("impl") || self.depth() != self.item_level() + 1 {
            return;
        }
        let it = &mut self.item;
        if it.open_method {
            it.open_method = false;
            if let Some(m) = it.methods.last_mut() {
                m.span.1 = self.i;
            }
        }
        it.member_start = self.i;
    }

    fn end_item(&mut self, end: usize) {
        self.pending_loop = false;
        self.variant_at = None;
        let it = std::mem::take(&mut self.item);
        let Some(start) = it.start else {
            return;
        };
        let kind = match it.head {
            Some("fn") => ItemKind::Fn,
            Some("use") => ItemKind::Use,
            Some("mod") => {
                if self.b[start..end].contains(&b'{') {
                    ItemKind::ModInline
                } else {
                    ItemKind::ModDecl
                }
            }
            Some("impl") => ItemKind::Impl,
            Some("macro") => ItemKind::MacroCall,
            _ => ItemKind::Other,
        };
        // an inner attribute (`#![…]`) is not an item
        if self.b[start..end].starts_with(b"#!") {
            return;
        }
        self.items.push(ItemChunk {
            start,
            end,
            module: self.modules.iter().map(|m| m.name.clone()).collect(),
            kind,
            name: it.name,
            flags: it.flags,
            impl_type: it.impl_type,
            methods: it.methods,
        });
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == needle)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_items_and_descends_into_inline_modules() {
        let text = "use a::b;\nfn f() { loop { if let Err(_) = g() {} } }\nmod m { fn h() {} }\nstatic X: S = S { a: 1 };\nstruct T;";
        let s = scan(text).unwrap_or_else(|e| panic!("{e:?}"));
        let kinds: Vec<_> = s.items.iter().map(|i| (i.kind, i.module.clone())).collect();
        assert_eq!(kinds.len(), 5, "{kinds:?}");
        assert_eq!(s.items[1].kind, ItemKind::Fn);
        assert!(s.items[1].deep());
        assert_eq!(s.items[2].module, vec!["m".to_string()]);
        assert!(!s.items[2].deep());
        assert_eq!(
            &text[s.items[3].start..s.items[3].end],
            "static X: S = S { a: 1 };"
        );
    }

    #[test]
    fn each_method_of_an_impl_block_has_its_own_span() {
        let text = "impl<'a> IntoIterator for &'a List<X> {\n    type Item = &'a X;\n    /// Doc.\n    #[inline]\n    pub(crate) async fn into_iter(self) -> I where I: Fn() -> u8 { let s = \"}\"; self.v.iter() }\n    const N: usize = 1;\n    fn len(&self) -> usize { match self { _ => { 0 } } }\n}";
        let s = scan(text).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.items.len(), 1);
        let methods: Vec<(&str, &str)> = s.items[0]
            .methods
            .iter()
            .map(|m| (&text[m.name.0..m.name.1], text[m.span.0..m.span.1].trim()))
            .collect();
        assert_eq!(
            methods,
            vec![
                (
                    "into_iter",
                    "/// Doc.\n    #[inline]\n    pub(crate) async fn into_iter(self) -> I where I: Fn() -> u8 { let s = \"}\"; self.v.iter() }"
                ),
                ("len", "fn len(&self) -> usize { match self { _ => { 0 } } }"),
            ]
        );
        for (_, src) in methods {
            assert!(syn::parse_str::<syn::ItemFn>(src).is_ok(), "{src}");
        }
    }

    #[test]
    fn rejects_deep_nesting_and_unclosed() {
        let deep = "(".repeat(100_000);
        assert!(scan(&deep).is_err());
        assert!(scan("fn f() { \"abc").is_err());
        assert!(scan("fn f() { ]").is_err());
        let chain = format!("fn f() {{ x{} }}", ".a()".repeat(20_000));
        assert!(scan(&chain).is_err());
        assert!(scan("fn f() { let c = '\\''; let l: &'a str = \"x\"; r#\"a\"b\"#; }").is_ok());
    }
}
