//! How idempotency keys are composed (facts for IDEM005).
//!
//! For one function: the `key = …` of its `#[idempotent]` attribute, and every value given to
//! an `Idempotency-Key` header in its body (followed back through local `let` bindings), are
//! read as `format!` / `format_args!`, `a + ":" + b`, `[a, b].join(":")` or `[a, ":", b].concat()`.
//! Each piece is a literal (or a `SCREAMING_CASE` constant) or a runtime value; a value is
//! *fixed-format* only when its type is visible as an integer or a `Uuid` (a parameter's or a
//! typed `let`'s type, an `as u64` cast, `.len()`). Anything else — a builder call
//! (`idemgate::key`, `key!`, `parts(…)`), a plain variable, a function call — yields no fact.

use std::collections::{HashMap, HashSet};

use idemgate_rules::model::keys::{Composition, KeyComposition, KeyValue};
use idemgate_rules::model::rust::KeySink;
use idemgate_rules::Location;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Attribute, Block, Expr, FnArg, Lit, Meta, Pat, Signature, Token, Type};

use super::span::Spanner;

/// How far a header value is followed back through `let` bindings.
const MAX_FLOW: usize = 3;

/// The key compositions of one function: its `#[idempotent(key = …)]` and the values of the
/// `Idempotency-Key` headers its body sets. One fact per composing expression.
pub fn compositions(
    sp: &Spanner<'_>,
    function: &str,
    attrs: &[Attribute],
    sig: &Signature,
    block: &Block,
) -> Vec<KeyComposition> {
    let mut env = Env::default();
    env.signature(sig);
    env.visit_block(block);
    let mut scan = Scan {
        sp,
        function,
        env: &env,
        seen: HashSet::new(),
        out: Vec::new(),
    };
    for a in attrs {
        if a.path()
            .segments
            .last()
            .is_none_or(|s| s.ident != "idempotent")
        {
            continue;
        }
        let Ok(args) = a.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) else {
            continue;
        };
        let sink = sp.range(a.pound_token.span, a.bracket_token.span.close());
        for arg in &args {
            if let Meta::NameValue(nv) = arg {
                if nv.path.is_ident("key") {
                    scan.sink(&nv.value, KeySink::Attribute, &sink);
                }
            }
        }
    }
    let mut headers = Headers { sinks: Vec::new() };
    headers.visit_block(block);
    for (value, at) in headers.sinks {
        let sink = sp.loc(at);
        scan.sink(value, KeySink::Header, &sink);
    }
    scan.out
}

/// What the function tells about its names: parameter and `let` types, `let` values.
#[derive(Default)]
struct Env<'ast> {
    types: HashMap<String, &'ast Type>,
    bound: HashMap<String, Vec<&'ast Expr>>,
}

impl<'ast> Env<'ast> {
    fn signature(&mut self, sig: &'ast Signature) {
        for input in &sig.inputs {
            if let FnArg::Typed(t) = input {
                self.pattern(&t.pat, &t.ty);
            }
        }
    }

    /// `x: T`, and extractor patterns `Path(x): Path<T>`.
    fn pattern(&mut self, pat: &'ast Pat, ty: &'ast Type) {
        match pat {
            Pat::Ident(i) => {
                self.types.insert(i.ident.to_string(), ty);
            }
            Pat::TupleStruct(ts) if ts.elems.len() == 1 => {
                if let (Some(inner), Some(Pat::Ident(i))) = (single_generic(ty), ts.elems.first()) {
                    self.types.insert(i.ident.to_string(), inner);
                }
            }
            _ => {}
        }
    }

    fn fixed_format(&self, name: &str) -> bool {
        self.types.get(name).is_some_and(|t| fixed_format_type(t))
    }
}

impl<'ast> Visit<'ast> for Env<'ast> {
    fn visit_local(&mut self, local: &'ast syn::Local) {
        let (pat, ty) = match &local.pat {
            Pat::Type(pt) => (&*pt.pat, Some(&*pt.ty)),
            other => (other, None),
        };
        if let Pat::Ident(i) = pat {
            let name = i.ident.to_string();
            match ty {
                Some(ty) => {
                    self.types.insert(name.clone(), ty);
                }
                None => {
                    // an untyped rebinding shadows what was known of the name
                    self.types.remove(&name);
                }
            }
            if let Some(init) = &local.init {
                self.bound.entry(name).or_default().push(&init.expr);
            }
        }
        syn::visit::visit_local(self, local);
    }
}

/// `T` in `Path<T>` (any single-type-argument wrapper).
fn single_generic(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    match (types.next(), types.next()) {
        (Some(t), None) => Some(t),
        _ => None,
    }
}

const INTEGERS: &[&str] = &[
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "NonZeroU8",
    "NonZeroU16",
    "NonZeroU32",
    "NonZeroU64",
    "NonZeroU128",
    "NonZeroUsize",
    "NonZeroI8",
    "NonZeroI16",
    "NonZeroI32",
    "NonZeroI64",
    "NonZeroI128",
    "NonZeroIsize",
];

/// An integer or a `Uuid` (behind references and parentheses).
fn fixed_format_type(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => fixed_format_type(&r.elem),
        Type::Paren(p) => fixed_format_type(&p.elem),
        Type::Group(g) => fixed_format_type(&g.elem),
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().is_some_and(|s| {
            s.arguments.is_none() && {
                let name = s.ident.to_string();
                INTEGERS.contains(&name.as_str()) || name == "Uuid"
            }
        }),
        _ => false,
    }
}

/// `Idempotency-Key` header values set in a body: `.header(name, value)` and its kin.
struct Headers<'ast> {
    sinks: Vec<(&'ast Expr, proc_macro2::Span)>,
}

fn names_idempotency(e: &Expr) -> bool {
    match super::syntax::peel(e) {
        Expr::Lit(l) => {
            matches!(&l.lit, Lit::Str(s) if s.value().to_ascii_lowercase().contains("idempotency"))
        }
        Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
            s.ident
                .to_string()
                .to_ascii_lowercase()
                .contains("idempotency")
        }),
        Expr::Call(c) => c.args.iter().any(names_idempotency),
        Expr::MethodCall(m) => {
            names_idempotency(&m.receiver) || m.args.iter().any(names_idempotency)
        }
        _ => false,
    }
}

impl<'ast> Visit<'ast> for Headers<'ast> {
    fn visit_expr_method_call(&mut self, mc: &'ast syn::ExprMethodCall) {
        let m = mc.method.to_string();
        if matches!(
            m.as_str(),
            "header" | "insert" | "append" | "set" | "try_insert" | "header_opt"
        ) && mc.args.len() >= 2
            && names_idempotency(&mc.args[0])
        {
            self.sinks.push((&mc.args[1], mc.method.span()));
        }
        syn::visit::visit_expr_method_call(self, mc);
    }
}

/// One piece of a composed key.
enum Piece {
    /// Literal text.
    Lit(String),
    /// A constant (`PREFIX`, `consts::PREFIX`): fixed text the gate does not know.
    Const(String),
    /// A runtime value.
    Value(KeyValue),
}

struct Scan<'a, 'b, 'ast> {
    sp: &'a Spanner<'b>,
    function: &'a str,
    env: &'a Env<'ast>,
    seen: HashSet<(u32, u32)>,
    out: Vec<KeyComposition>,
}

impl Scan<'_, '_, '_> {
    fn text(&self, e: &Expr) -> String {
        let at = self.sp.range(e.span(), e.span());
        self.sp
            .text
            .get(at.offset..at.offset + at.len)
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    }

    fn sink(&mut self, value: &Expr, sink: KeySink, sink_location: &Location) {
        let mut visited = HashSet::new();
        if let Some((at, composition, pieces)) = self.resolve(value, 0, &mut visited) {
            let values: Vec<KeyValue> = pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Value(v) => Some(v.clone()),
                    _ => None,
                })
                .collect();
            if values.len() < 2 || !self.seen.insert((at.line, at.column)) {
                return;
            }
            self.out.push(KeyComposition {
                location: at,
                composition,
                separators: separators(&pieces),
                builder_args: builder_args(&pieces),
                values,
                sink,
                sink_location: sink_location.clone(),
                function: self.function.to_string(),
            });
        }
    }

    /// The composition a key expression is (or was bound to).
    fn resolve(
        &self,
        e: &Expr,
        depth: usize,
        visited: &mut HashSet<String>,
    ) -> Option<(Location, Composition, Vec<Piece>)> {
        let e = peel_conversions(e);
        if let Some((composition, pieces)) = self.compose(e) {
            return Some((self.sp.range(e.span(), e.span()), composition, pieces));
        }
        let Expr::Path(p) = e else { return None };
        let name = p.path.get_ident()?.to_string();
        if depth >= MAX_FLOW || !visited.insert(name.clone()) {
            return None;
        }
        self.env
            .bound
            .get(&name)?
            .iter()
            .rev()
            .find_map(|bound| self.resolve(bound, depth + 1, visited))
    }

    fn compose(&self, e: &Expr) -> Option<(Composition, Vec<Piece>)> {
        match e {
            Expr::Macro(m) => {
                let name = m.mac.path.segments.last()?.ident.to_string();
                if name != "format" && name != "format_args" {
                    return None;
                }
                let args = m
                    .mac
                    .parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
                    .ok()?;
                Some((Composition::Format, self.format(&args)?))
            }
            Expr::Binary(b) if matches!(b.op, syn::BinOp::Add(_)) => {
                let mut operands = Vec::new();
                flatten_add(e, &mut operands);
                let has_text = operands.iter().any(|o| {
                    matches!(super::syntax::peel(o), Expr::Lit(l) if matches!(l.lit, Lit::Str(_)))
                });
                has_text.then(|| {
                    (
                        Composition::Plus,
                        operands.iter().map(|o| self.piece(o)).collect(),
                    )
                })
            }
            Expr::MethodCall(mc) if mc.method == "join" || mc.method == "concat" => {
                let items = sequence(&mc.receiver)?;
                if mc.method == "concat" {
                    if !mc.args.is_empty() {
                        return None;
                    }
                    return Some((
                        Composition::Concat,
                        items.iter().map(|i| self.piece(i)).collect(),
                    ));
                }
                let sep = match mc.args.first().map(super::syntax::peel) {
                    Some(Expr::Lit(l)) => match &l.lit {
                        Lit::Str(s) => s.value(),
                        Lit::Char(c) => c.value().to_string(),
                        _ => return None,
                    },
                    _ => return None,
                };
                let mut pieces = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        pieces.push(Piece::Lit(sep.clone()));
                    }
                    pieces.push(self.piece(item));
                }
                Some((Composition::Join, pieces))
            }
            _ => None,
        }
    }

    /// The pieces of `format!("…", args…)`.
    fn format(&self, args: &Punctuated<Expr, Token![,]>) -> Option<Vec<Piece>> {
        let mut args = args.iter();
        let Expr::Lit(lit) = args.next()? else {
            return None;
        };
        let Lit::Str(template) = &lit.lit else {
            return None;
        };
        let mut positional = Vec::new();
        let mut named: HashMap<String, &Expr> = HashMap::new();
        for a in args {
            match a {
                Expr::Assign(assign) => {
                    if let Expr::Path(p) = &*assign.left {
                        if let Some(name) = p.path.get_ident() {
                            named.insert(name.to_string(), &assign.right);
                        }
                    }
                }
                other => positional.push(other),
            }
        }
        let mut next = 0;
        let mut pieces = Vec::new();
        for part in parse_template(&template.value())? {
            match part {
                Template::Text(t) => pieces.push(Piece::Lit(t)),
                Template::Next { skip } => {
                    next += skip;
                    pieces.push(self.piece(positional.get(next)?));
                    next += 1;
                }
                Template::Index(i) => pieces.push(self.piece(positional.get(i)?)),
                Template::Name(name) => match named.get(&name) {
                    Some(e) => pieces.push(self.piece(e)),
                    None if is_constant(&name) => pieces.push(Piece::Const(name)),
                    None => {
                        let fixed_format = self.env.fixed_format(&name);
                        pieces.push(Piece::Value(KeyValue {
                            text: name,
                            fixed_format,
                        }));
                    }
                },
            }
        }
        Some(pieces)
    }

    /// A literal, a constant or a runtime value.
    fn piece(&self, e: &Expr) -> Piece {
        let inner = peel_conversions(e);
        match inner {
            Expr::Lit(l) => match &l.lit {
                Lit::Str(s) => return Piece::Lit(s.value()),
                Lit::Char(c) => return Piece::Lit(c.value().to_string()),
                Lit::Int(i) => return Piece::Lit(i.base10_digits().to_string()),
                Lit::Bool(b) => return Piece::Lit(b.value.to_string()),
                _ => {}
            },
            Expr::Path(p) => {
                if let Some(last) = p.path.segments.last() {
                    let name = last.ident.to_string();
                    if is_constant(&name) {
                        return Piece::Const(self.text(inner));
                    }
                }
            }
            _ => {}
        }
        Piece::Value(KeyValue {
            text: self.text(inner),
            fixed_format: self.fixed_format(inner),
        })
    }

    fn fixed_format(&self, e: &Expr) -> bool {
        match peel_conversions(e) {
            Expr::Cast(c) => fixed_format_type(&c.ty),
            Expr::MethodCall(mc) => {
                matches!(mc.method.to_string().as_str(), "len" | "count") && mc.args.is_empty()
            }
            Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|i| self.env.fixed_format(&i.to_string())),
            _ => false,
        }
    }
}

/// `e` without references, parentheses, `?`, and the conversions that keep the text
/// (`.to_string()`, `.as_str()`, `HeaderValue::from_str(…)`, `String::from(…)`…).
fn peel_conversions(mut e: &Expr) -> &Expr {
    loop {
        e = super::syntax::peel(e);
        match e {
            Expr::Try(t) => e = &t.expr,
            Expr::MethodCall(mc)
                if matches!(
                    mc.method.to_string().as_str(),
                    "to_string"
                        | "to_owned"
                        | "clone"
                        | "into"
                        | "as_str"
                        | "as_ref"
                        | "as_bytes"
                        | "into_bytes"
                        | "unwrap"
                        | "expect"
                        | "parse"
                        | "try_into"
                        | "borrow"
                ) =>
            {
                e = &mc.receiver
            }
            Expr::Call(c) if c.args.len() == 1 => {
                let conversion = matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| {
                    matches!(
                        s.ident.to_string().as_str(),
                        "from_str" | "from_maybe_shared" | "try_from" | "from" | "from_bytes"
                    )
                }));
                match (conversion, c.args.first()) {
                    (true, Some(arg)) => e = arg,
                    _ => return e,
                }
            }
            _ => return e,
        }
    }
}

/// The operands of `a + b + c`.
fn flatten_add<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match super::syntax::peel(e) {
        Expr::Binary(b) if matches!(b.op, syn::BinOp::Add(_)) => {
            flatten_add(&b.left, out);
            flatten_add(&b.right, out);
        }
        other => out.push(other),
    }
}

/// The items of `[a, b]`, `&[a, b]` or `vec![a, b]`.
fn sequence(e: &Expr) -> Option<Vec<Expr>> {
    match super::syntax::peel(e) {
        Expr::Array(a) => Some(a.elems.iter().cloned().collect()),
        Expr::Macro(m) if m.mac.path.is_ident("vec") => m
            .mac
            .parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
            .ok()
            .map(|items| items.into_iter().collect()),
        _ => None,
    }
}

/// `PREFIX`, `KEY_V2`: a constant, not a runtime value.
fn is_constant(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A piece of a format string.
#[derive(Debug, PartialEq)]
enum Template {
    Text(String),
    /// `{}` (after skipping `skip` positional arguments used as precision by `.*`).
    Next {
        skip: usize,
    },
    Index(usize),
    Name(String),
}

/// Splits a format string into text and placeholders; `None` when it is malformed.
fn parse_template(s: &str) -> Option<Vec<Template>> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut spec = String::new();
                loop {
                    match chars.next()? {
                        '}' => break,
                        c => spec.push(c),
                    }
                }
                if !text.is_empty() {
                    out.push(Template::Text(std::mem::take(&mut text)));
                }
                let (arg, format) = spec.split_once(':').unwrap_or((spec.as_str(), ""));
                let arg = arg.trim();
                let skip = usize::from(format.contains(".*"));
                out.push(if arg.is_empty() {
                    Template::Next { skip }
                } else if let Ok(i) = arg.parse::<usize>() {
                    Template::Index(i)
                } else {
                    Template::Name(arg.to_string())
                });
            }
            '}' => return None,
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        out.push(Template::Text(text));
    }
    Some(out)
}

/// The literal text between consecutive values (constants as `{NAME}`).
fn separators(pieces: &[Piece]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for p in pieces {
        match p {
            Piece::Value(_) => {
                if let Some(sep) = current.take() {
                    out.push(sep);
                }
                current = Some(String::new());
            }
            Piece::Lit(t) => {
                if let Some(sep) = &mut current {
                    sep.push_str(t);
                }
            }
            Piece::Const(name) => {
                if let Some(sep) = &mut current {
                    sep.push('{');
                    sep.push_str(name);
                    sep.push('}');
                }
            }
        }
    }
    out
}

/// The arguments of the builder call that composes the same parts: literal text split at
/// its separators, constants and values as written.
fn builder_args(pieces: &[Piece]) -> String {
    let mut args: Vec<String> = Vec::new();
    for p in pieces {
        match p {
            Piece::Lit(t) => args.extend(
                t.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
                    .filter(|w| w.chars().any(char::is_alphanumeric))
                    .map(|w| format!("{w:?}")),
            ),
            Piece::Const(name) => args.push(name.clone()),
            Piece::Value(v) => args.push(v.text.clone()),
        }
    }
    args.join(", ")
}

#[cfg(test)]
mod tests {
    use super::{parse_template, Template};

    #[test]
    fn templates() {
        assert_eq!(
            parse_template("a:{}:{x}:{0:?}{{}}{:.*}"),
            Some(vec![
                Template::Text("a:".into()),
                Template::Next { skip: 0 },
                Template::Text(":".into()),
                Template::Name("x".into()),
                Template::Text(":".into()),
                Template::Index(0),
                Template::Text("{}".into()),
                Template::Next { skip: 1 },
            ])
        );
        assert_eq!(parse_template("{"), None);
        assert_eq!(parse_template("}"), None);
    }
}
