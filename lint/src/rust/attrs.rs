//! The attributes the gate reads: `#[idempotent]`, `#[retry_policy]`, `#[exempt]` (with or
//! without the `idemgate::` path) and routing attributes (actix/rocket `#[post]`, `#[route]`,
//! poem-openapi `#[oai]`, utoipa `#[utoipa::path]`). Arguments are read token by token, so
//! any argument syntax the macros accept is tolerated.

use idemgate_grammar::{fresh, vocab};
use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::Attribute;

/// HTTP methods as routing attributes name them: the shared vocabulary.
pub use idemgate_grammar::vocab::HTTP_METHODS as METHODS;

/// One comma-separated argument: `key = value` or a positional value.
pub struct Arg {
    pub key: Option<String>,
    pub value: Vec<TokenTree>,
}

impl Arg {
    pub fn tokens(&self) -> TokenStream {
        self.value.iter().cloned().collect()
    }

    /// The value as a string literal's content.
    pub fn string(&self) -> Option<String> {
        syn::parse2::<syn::LitStr>(self.tokens())
            .ok()
            .map(|l| l.value())
    }

    pub fn int(&self) -> Option<u64> {
        syn::parse2::<syn::LitInt>(self.tokens())
            .ok()
            .and_then(|l| l.base10_parse().ok())
    }

    /// The value as a single identifier (or the last segment of a path).
    pub fn ident(&self) -> Option<String> {
        match self.value.last() {
            Some(TokenTree::Ident(i)) => Some(i.to_string()),
            _ => None,
        }
    }

    pub fn spans(&self) -> Option<(Span, Span)> {
        Some((self.value.first()?.span(), self.value.last()?.span()))
    }
}

/// The arguments of `#[name(…)]`; empty for a bare attribute or `name = value`.
pub fn args(attr: &Attribute) -> Vec<Arg> {
    let syn::Meta::List(list) = &attr.meta else {
        return Vec::new();
    };
    split_args(list.tokens.clone())
}

pub fn split_args(tokens: TokenStream) -> Vec<Arg> {
    let mut out = Vec::new();
    let mut cur: Vec<TokenTree> = Vec::new();
    let mut flush = |cur: &mut Vec<TokenTree>| {
        if cur.is_empty() {
            return;
        }
        let is_kv = cur.len() >= 3
            && matches!(&cur[0], TokenTree::Ident(_))
            && matches!(&cur[1], TokenTree::Punct(p) if p.as_char() == '=')
            && !matches!(&cur[2], TokenTree::Punct(p) if p.as_char() == '=' || p.as_char() == '>');
        let arg = if is_kv {
            Arg {
                key: Some(cur[0].to_string()),
                value: cur[2..].to_vec(),
            }
        } else {
            Arg {
                key: None,
                value: cur.clone(),
            }
        };
        out.push(arg);
        cur.clear();
    };
    for tt in tokens {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => flush(&mut cur),
            _ => cur.push(tt),
        }
    }
    flush(&mut cur);
    out
}

/// The last segment of the attribute's path (`idempotent` for `#[idemgate::idempotent]`).
pub fn name(attr: &Attribute) -> String {
    super::syntax::last_ident(attr.path())
}

pub fn first_segment(attr: &Attribute) -> String {
    attr.path()
        .segments
        .first()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

/// `#[idempotent]` / `#[idemgate::idempotent]`.
pub fn is_idempotent(attr: &Attribute) -> bool {
    name(attr) == "idempotent"
}

/// What `#[idempotent(…)]` declares for the spec pairing: the header of
/// `key = header("Idempotency-Key")`, and the `ttl = "…"` text with its span.
pub fn idempotent_contract(attr: &Attribute) -> (Option<String>, Option<(String, Span, Span)>) {
    let mut header = None;
    let mut ttl = None;
    for arg in args(attr) {
        match arg.key.as_deref() {
            Some("key") => {
                if let [TokenTree::Ident(f), TokenTree::Group(g)] = arg.value.as_slice() {
                    if f == "header" && g.delimiter() == Delimiter::Parenthesis {
                        header = syn::parse2::<syn::LitStr>(g.stream())
                            .ok()
                            .map(|l| l.value());
                    }
                }
            }
            Some("ttl") => {
                if let (Some(text), Some((a, b))) = (arg.string(), arg.spans()) {
                    ttl = Some((text, a, b));
                }
            }
            _ => {}
        }
    }
    (header, ttl)
}

/// A route declared by an attribute on a handler.
pub struct AttrRoute {
    pub methods: Vec<String>,
    pub path: Option<String>,
    pub kind: AttrKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AttrKind {
    /// actix-web or rocket `#[post("/x")]` / `#[route(…)]`.
    Plain,
    PoemOpenApi,
    Utoipa,
}

/// Reads a routing attribute, if `attr` is one.
pub fn route(attr: &Attribute) -> Option<AttrRoute> {
    let n = name(attr);
    let first = first_segment(attr);
    let args = args(attr);
    if matches!(attr.meta, syn::Meta::NameValue(_)) {
        return None;
    }
    if METHODS.contains(&n.as_str()) {
        // `#[post("/x")]`: a path literal comes first
        let path = args.first().and_then(Arg::string)?;
        return Some(AttrRoute {
            methods: vec![n.to_ascii_uppercase()],
            path: Some(path),
            kind: AttrKind::Plain,
        });
    }
    match n.as_str() {
        "route" => {
            let mut methods = Vec::new();
            let mut path = None;
            for (i, a) in args.iter().enumerate() {
                match a.key.as_deref() {
                    Some("method") => {
                        if let Some(m) = a.string().or_else(|| a.ident()) {
                            methods.push(m.to_ascii_uppercase());
                        }
                    }
                    Some("uri") | Some("path") => path = a.string(),
                    None if i == 0 => {
                        if let Some(s) = a.string() {
                            path = Some(s);
                        } else if let Some(m) = a.ident() {
                            methods.push(m.to_ascii_uppercase());
                        }
                    }
                    None if path.is_none() => path = a.string(),
                    _ => {}
                }
            }
            if methods.is_empty() {
                return None;
            }
            Some(AttrRoute {
                methods,
                path,
                kind: AttrKind::Plain,
            })
        }
        "oai" => {
            let mut methods = Vec::new();
            let mut path = None;
            for a in &args {
                match a.key.as_deref() {
                    Some("method") => {
                        if let Some(m) = a.string().or_else(|| a.ident()) {
                            methods.push(m.to_ascii_uppercase());
                        }
                    }
                    Some("path") => path = a.string(),
                    _ => {}
                }
            }
            (!methods.is_empty()).then_some(AttrRoute {
                methods,
                path,
                kind: AttrKind::PoemOpenApi,
            })
        }
        "path" if first == "utoipa" => {
            let mut methods = Vec::new();
            let mut path = None;
            for a in &args {
                match a.key.as_deref() {
                    None => {
                        if let Some(m) = a.ident() {
                            if METHODS.contains(&m.to_ascii_lowercase().as_str()) {
                                methods.push(m.to_ascii_uppercase());
                            }
                        }
                    }
                    Some("path") => path = a.string(),
                    _ => {}
                }
            }
            (!methods.is_empty()).then_some(AttrRoute {
                methods,
                path,
                kind: AttrKind::Utoipa,
            })
        }
        _ => None,
    }
}

/// `#[exempt(ID, …, reason = "…")]`: the rule ids and the reason.
pub fn exempt(attr: &Attribute) -> Option<(Vec<String>, Option<String>)> {
    if name(attr) != "exempt" {
        return None;
    }
    let mut ids = Vec::new();
    let mut reason = None;
    for a in args(attr) {
        match a.key.as_deref() {
            Some("reason") => reason = a.string(),
            None => {
                // `reason` without a value is a missing reason, not a rule id
                if let Some(id) = a.ident().or_else(|| a.string()).filter(|i| i != "reason") {
                    ids.push(id);
                }
            }
            _ => {}
        }
    }
    Some((ids, reason))
}

/// Every identifier in a token stream, in order, with its span (descends into groups).
pub fn idents(tokens: TokenStream, out: &mut Vec<(String, Span)>) {
    for tt in tokens {
        match tt {
            TokenTree::Ident(i) => out.push((i.to_string(), i.span())),
            TokenTree::Group(g) if g.delimiter() != Delimiter::None || !g.stream().is_empty() => {
                idents(g.stream(), out)
            }
            _ => {}
        }
    }
}

/// A value that is fresh on every call, found in an identifier sequence: returns its text and
/// the index of its first identifier. What is fresh is `idemgate_grammar::fresh`, the list the
/// macros refuse keys with; an identifier is read with the one before it as its owner
/// (`Uuid` `new_v4`, `Utc` `now`), else on its own (`rand`, `fetch_add`, `elapsed`).
pub fn fresh_value(ids: &[(String, Span)]) -> Option<(String, usize)> {
    for (i, (w, _)) in ids.iter().enumerate() {
        let w = w.as_str();
        let prev = i.checked_sub(1).map(|p| ids[p].0.as_str());
        if let Some(prev) = prev {
            let owned = fresh::call(&[prev, w]);
            // `Utc::now`, `Ulid::new`, `Uuid::new_v4`: shown with their owner
            let by_owner = fresh::call(&[w]) != owned
                || fresh::UUID_FNS.contains(&w)
                || fresh::CLOCK_FNS.contains(&w);
            if owned.is_some() && by_owner {
                return Some((format!("{prev}::{w}"), i - 1));
            }
        }
        // a clock read or `new` needs its owner (`Clock::now()` is the type's own business)
        let needs_owner = fresh::CLOCK_FNS.contains(&w) || w == "new";
        let alone = if needs_owner { None } else { fresh::call(&[w]) };
        if alone.or_else(|| fresh::method(w)).is_some() {
            return Some((w.to_string(), i));
        }
    }
    None
}

/// An attribute macro that declares routes the gate cannot read (a crate's own
/// `#[routes(POST "/x" => create, …)]`): its name, when `attr` looks like one. Known routing
/// attributes and idemgate's own are not route tables.
pub fn route_table(attr: &Attribute) -> Option<String> {
    let n = name(attr);
    if matches!(n.as_str(), "doc" | "cfg" | "cfg_attr" | "derive" | "allow")
        || vocab::ATTRIBUTES.contains(&n.as_str())
        || route(attr).is_some()
    {
        return None;
    }
    let syn::Meta::List(list) = &attr.meta else {
        return None;
    };
    let mut ids = Vec::new();
    idents(list.tokens.clone(), &mut ids);
    let names_method = ids
        .iter()
        .any(|(i, _)| matches!(i.as_str(), "POST" | "PATCH" | "post" | "patch"))
        || list.tokens.to_string().contains("\"POST\"")
        || list.tokens.to_string().contains("\"PATCH\"");
    let routing = n.contains("route") || n.contains("endpoint") || n.contains("api");
    (names_method && routing).then_some(n)
}
