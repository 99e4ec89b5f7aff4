//! What a function does to the world outside it, for IDEM001: writes (SQL that changes rows,
//! ORM saves, outbound POST/PUT/PATCH/DELETE, messages published or sent, file writes, shared
//! state mutated behind a lock or in an atomic), calls whose effect depends on their callee
//! (resolved across the workspace by the linker), and things the gate cannot read (a macro it
//! does not understand). A function with none of these only reads, validates or computes.
//!
//! The word lists that decide "pure" for code outside the scan are here and nowhere else:
//! they are kept short on purpose, since anything not on them is *unknown*, never read-only.

use std::collections::HashSet;

use idemgate_rules::model::rust::{Evidence, HandlerEffects};
use idemgate_rules::Location;
use proc_macro2::{TokenStream, TokenTree};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Block, Expr, Signature, Token};

use super::span::Spanner;
use super::syntax::{last_ident, path_segments, peel_await};

/// A call whose effect is the effect of what it calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callee {
    /// `db::save(x)`, `Order::find(id)`: resolved like a handler path.
    Path(Vec<String>),
    /// `self.m(…)`: a method of the function's own type.
    SelfMethod(String),
    /// `x.m(…)` on anything else: resolved by name among the workspace's methods.
    Method(String),
}

/// The effects of one function body, before its calls are followed.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// What the body itself changes (description, where).
    pub writes: Vec<(String, Location)>,
    /// What the gate cannot read in the body (description, where).
    pub unknown: Vec<(String, Location)>,
    /// Calls to follow.
    pub calls: Vec<(Callee, Location)>,
}

/// Methods that only read, convert or build values, on whatever receiver.
#[rustfmt::skip]
const PURE_METHODS: &[&str] = &[
    "clone", "cloned", "copied", "to_string", "to_owned", "into", "try_into", "as_ref", "as_mut",
    "as_str", "as_bytes", "as_deref", "as_slice", "borrow", "deref", "len", "is_empty", "iter",
    "into_iter", "iter_mut", "map", "map_err", "and_then", "or_else", "or", "and", "ok", "err",
    "ok_or", "ok_or_else", "unwrap", "expect", "unwrap_or", "unwrap_or_default", "unwrap_or_else",
    "filter", "filter_map", "find", "find_map", "any", "all", "count", "collect", "sum", "max",
    "min", "max_by_key", "min_by_key", "contains", "contains_key", "get", "first", "last",
    "starts_with", "ends_with", "trim", "split", "splitn", "parse", "to_lowercase", "to_uppercase",
    "chars", "bytes", "is_some", "is_none", "is_ok", "is_err", "eq", "ne", "cmp", "partial_cmp",
    "fmt", "join", "concat", "zip", "enumerate", "rev", "skip", "take", "chain", "flatten",
    "flat_map", "keys", "values", "sort", "sort_by", "sort_by_key", "dedup", "format", "timestamp",
    "elapsed", "duration_since", "as_secs", "as_millis", "to_vec", "unwrap_or_else", "then",
    "then_some", "inspect", "into_inner", "inner", "as_deref_mut", "json", "text", "body",
    "status", "headers", "header", "content_type", "insert_header", "append_header", "finish",
    "build", "into_response", "with_status", "extensions", "path", "query", "uri", "method",
    "peer_addr", "connection_info", "match_info", "cookie", "validate", "lock", "lock_owned", "read_owned", "write_owned", "read", "try_read",
    "try_lock", "load", "fetch", "fetch_one", "fetch_all", "fetch_optional", "bind", "select",
    "filter_by", "order_by", "limit", "offset", "inner_join", "left_join", "one", "find_by_id",
    "first_async", "get_result", "get_results", "optional", "query_as", "query_one", "query_opt",
    "prepare", "prepare_cached", "get_ref", "await", "boxed", "pin", "error_for_status", "send",
    "into_future", "split_once", "trim_start_matches", "trim_end_matches", "replace", "push_str",
    "extend_from_slice", "to_str", "display", "entry_ref", "saturating_sub", "saturating_add",
    "checked_add", "checked_sub", "abs", "pow", "min_by", "max_by", "position", "rposition",
    "windows", "chunks", "is_valid", "verify", "hash", "encode", "decode", "serialize",
    "deserialize",
];

/// Methods that change their receiver: a write when the receiver is shared state (`self`, a
/// state/extension parameter, a static, a lock guard), local work otherwise.
#[rustfmt::skip]
const MUTATING_METHODS: &[&str] = &[
    "insert", "push", "push_back", "push_front", "remove", "pop", "pop_front", "pop_back", "clear",
    "extend", "retain", "append", "truncate", "drain", "entry", "or_insert", "or_insert_with",
    "set", "store", "swap", "take", "update", "delete", "get_mut", "modify",
    "alter", "insert_many",
];

/// Methods that always change something outside the function.
#[rustfmt::skip]
const WRITE_METHODS: &[(&str, &str)] = &[
    ("execute", "executes a statement"),
    ("execute_batch", "executes statements"),
    ("execute_many", "executes statements"),
    ("exec", "executes a statement"),
    ("exec_with_returning", "executes a statement"),
    ("save", "saves a record"),
    ("create", "creates a record"),
    ("destroy", "destroys a record"),
    ("upsert", "upserts a record"),
    ("insert_one", "inserts a document"),
    ("update_one", "updates a document"),
    ("update_many", "updates documents"),
    ("delete_one", "deletes a document"),
    ("delete_many", "deletes documents"),
    ("replace_one", "replaces a document"),
    ("publish", "publishes a message"),
    ("send_message", "sends a message"),
    ("produce", "produces a message"),
    ("xadd", "appends to a redis stream"),
    ("lpush", "pushes to a redis list"),
    ("rpush", "pushes to a redis list"),
    ("hset", "writes a redis hash"),
    ("incr", "increments a counter"),
    ("decr", "decrements a counter"),
    ("set_ex", "writes a key"),
    ("setex", "writes a key"),
    ("set_nx", "writes a key"),
    ("expire", "sets an expiry"),
    ("write_all", "writes to a file or stream"),
    ("fetch_add", "updates an atomic"),
    ("fetch_sub", "updates an atomic"),
    ("fetch_or", "updates an atomic"),
    ("fetch_and", "updates an atomic"),
    ("fetch_max", "updates an atomic"),
    ("fetch_min", "updates an atomic"),
    ("fetch_update", "updates an atomic"),
    ("compare_exchange", "updates an atomic"),
    ("commit", "commits a transaction"),
];

/// Free functions (last segments) that write whatever their path.
#[rustfmt::skip]
const WRITE_FNS: &[(&str, &str)] = &[
    ("insert_into", "inserts rows"),
    ("replace_into", "replaces rows"),
    ("remove_file", "removes a file"),
    ("remove_dir", "removes a folder"),
    ("remove_dir_all", "removes a folder"),
    ("create_dir", "creates a folder"),
    ("create_dir_all", "creates a folder"),
    ("rename", "renames a file"),
];

/// Path calls outside the scan that only build or convert values: by last segment, or by
/// first segment for whole crates of pure functions.
#[rustfmt::skip]
const PURE_FNS: &[&str] = &[
    "now_utc", "query", "query_as", "query_scalar", "query_with", "sql_query",    "new", "default", "from", "try_from", "from_str", "with_capacity", "now", "parse", "to_string",
    "to_vec", "min", "max", "from_secs", "from_millis", "format", "into", "new_v4", "new_v7",
    "now_v7", "from_utc", "today", "utc", "get", "as_ref", "clone", "sleep", "timeout", "ready",
    "pending", "spawn", "block_on", "drop", "size_of", "take", "from_slice", "from_value",
    "to_value", "to_vec_pretty", "to_string_pretty", "ok", "from_utf8", "from_utf8_lossy",
    "encode", "decode", "hash", "verify",
];
const PURE_CRATES: &[&str] = &["serde_json", "serde", "std", "core", "alloc", "validator"];

/// Macros whose arguments are expressions and which add no effect of their own.
#[rustfmt::skip]
const EXPR_MACROS: &[&str] = &[
    "format", "println", "print", "eprintln", "eprint", "info", "warn", "error", "debug", "trace",
    "event", "assert", "assert_eq", "assert_ne", "debug_assert", "debug_assert_eq", "panic", "vec",
    "matches", "anyhow", "bail", "ensure", "format_err", "todo", "unimplemented", "unreachable",
    "dbg", "write", "writeln", "join", "try_join", "concat", "stringify", "env", "option_env",
    "include_str", "line", "file", "column", "json", "pin", "format_args", "instrument",
];

/// SQL query macros: their string says what they do.
#[rustfmt::skip]
const SQL_MACROS: &[&str] = &[
    "query", "query_as", "query_scalar", "query_unchecked", "query_as_unchecked",
    "query_scalar_unchecked", "query_file", "query_file_as", "sql", "sql_query",
];

/// What a SQL string does to rows: `inserts into `orders``; `None` for reads and non-SQL.
pub fn sql_write(s: &str) -> Option<String> {
    let words: Vec<&str> = s.split_whitespace().take(64).collect();
    let upper = |w: &str| {
        w.trim_matches(|c: char| c == '(' || c == ';')
            .to_ascii_uppercase()
    };
    let name = |w: Option<&&str>| {
        w.map(|w| {
            w.trim_matches(|c: char| matches!(c, '"' | '`' | '(' | ';' | '[' | ']'))
                .to_string()
        })
        .filter(|n| !n.is_empty())
    };
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).map(|w| upper(w));
        let (verb, into) = match (upper(w).as_str(), next.as_deref()) {
            ("INSERT", Some("INTO")) => ("inserts into", 2),
            ("INSERT", Some("OR")) => ("inserts into", 4),
            ("UPSERT", Some("INTO")) => ("upserts into", 2),
            ("REPLACE", Some("INTO")) => ("replaces into", 2),
            ("MERGE", Some("INTO")) => ("merges into", 2),
            ("DELETE", Some("FROM")) => ("deletes from", 2),
            ("UPDATE", Some(_)) if words.iter().skip(i + 2).take(8).any(|w| upper(w) == "SET") => {
                ("updates", 1)
            }
            ("TRUNCATE", Some(_)) => ("truncates", 1),
            _ => continue,
        };
        // the statement must start the string, or follow a CTE / `;`
        let lead = words[..i].iter().all(|w| !w.is_empty())
            && (i == 0
                || words[..i].first().is_some_and(|f| upper(f) == "WITH")
                || words[i - 1].ends_with(';')
                || words[i - 1].ends_with(')'));
        if !lead {
            continue;
        }
        let mut at = i + into;
        if upper(words.get(at).copied().unwrap_or("")) == "ONLY" {
            at += 1;
        }
        return Some(match name(words.get(at)) {
            Some(t) => format!("{verb} `{t}`"),
            None => verb.to_string(),
        });
    }
    None
}

/// What a path call outside the scan writes, by its name: diesel `insert_into`, sea-orm
/// `Entity::insert`, `fs::remove_file` (asked only when the path is not a workspace function).
pub fn write_path(segs: &[String]) -> Option<String> {
    let last = segs.last()?;
    let text = segs.join("::");
    if let Some((_, what)) = WRITE_FNS.iter().find(|(w, _)| w == last) {
        return Some(format!("{what} (`{text}`)"));
    }
    let prev = segs.len().checked_sub(2).and_then(|i| segs.get(i))?;
    let orm = matches!(
        last.as_str(),
        "insert"
            | "update"
            | "delete"
            | "insert_many"
            | "delete_many"
            | "update_many"
            | "delete_by_id"
            | "save"
            | "create"
    );
    let collection = matches!(prev.as_str(), "HashMap" | "Vec" | "BTreeMap" | "HashSet");
    (orm && !collection).then(|| format!("writes records (`{text}`)"))
}

/// Whether a path call outside the scan is known to only build or convert values.
pub fn pure_path(segs: &[String]) -> bool {
    let Some(last) = segs.last() else {
        return true;
    };
    // a tuple struct or enum variant (`Json(x)`, `Ok(x)`, `StatusCode::CREATED`)
    // a constructor of a type outside the scan (`Url::from_file_path`, `Uuid::new_v4`)
    let of_type = segs.len() >= 2
        && segs[segs.len() - 2].starts_with(|c: char| c.is_ascii_uppercase())
        && ["from_", "new_", "with_", "parse", "try_from"]
            .iter()
            .any(|p| last.starts_with(p));
    last.starts_with(|c: char| c.is_ascii_uppercase())
        || of_type
        || PURE_FNS.contains(&last.as_str())
        || segs
            .first()
            .is_some_and(|f| segs.len() >= 2 && PURE_CRATES.contains(&f.as_str()))
}

/// Whether a method the workspace does not define only reads or builds values.
pub fn pure_method(name: &str) -> bool {
    PURE_METHODS.contains(&name)
}

/// Collects the [`Summary`] of one function.
pub fn summarize(sp: &Spanner<'_>, sig: &Signature, block: &Block) -> Summary {
    let mut v = Effects {
        sp,
        out: Summary::default(),
        shared: HashSet::new(),
        depth: 0,
    };
    for a in &sig.inputs {
        // `&self` can only change what sits behind a lock, an atomic or a concurrent map:
        // shared; `&mut self` and `self` change the caller's own value
        if let syn::FnArg::Receiver(r) = a {
            if r.reference.is_some() && r.mutability.is_none() {
                v.shared.insert("self".to_string());
            }
        }
        if let syn::FnArg::Typed(t) = a {
            let ty = type_idents(&t.ty);
            // request data arrives by value: changing it changes nothing outside
            let by_value = ty.iter().any(|w| {
                matches!(
                    w.as_str(),
                    "Json" | "Form" | "Query" | "Path" | "Multipart" | "Bytes"
                )
            });
            let mutable_ref = matches!(&*t.ty, syn::Type::Reference(r) if r.mutability.is_some());
            let shared = !by_value
                && !mutable_ref
                && (matches!(&*t.ty, syn::Type::Reference(_))
                    || ty.iter().any(|w| {
                        matches!(
                            w.as_str(),
                            "State"
                                | "Data"
                                | "Extension"
                                | "Arc"
                                | "Mutex"
                                | "RwLock"
                                | "DashMap"
                                | "Pool"
                                | "Sender"
                                | "Client"
                        )
                    }));
            if shared {
                let mut names = Vec::new();
                pat_idents(&t.pat, &mut names);
                v.shared.extend(names);
            }
        }
    }
    v.visit_block(block);
    v.out
}

/// The identifiers of a type, in order (`State AppState` for `State<AppState>`).
fn type_idents(ty: &syn::Type) -> Vec<String> {
    struct Idents(Vec<String>);
    impl<'ast> Visit<'ast> for Idents {
        fn visit_ident(&mut self, i: &'ast proc_macro2::Ident) {
            if self.0.len() < 32 {
                self.0.push(i.to_string());
            }
        }
    }
    let mut w = Idents(Vec::new());
    w.visit_type(ty);
    w.0
}

fn pat_idents(p: &syn::Pat, out: &mut Vec<String>) {
    match p {
        syn::Pat::Ident(i) => out.push(i.ident.to_string()),
        syn::Pat::TupleStruct(t) => t.elems.iter().for_each(|e| pat_idents(e, out)),
        syn::Pat::Tuple(t) => t.elems.iter().for_each(|e| pat_idents(e, out)),
        syn::Pat::Reference(r) => pat_idents(&r.pat, out),
        syn::Pat::Type(t) => pat_idents(&t.pat, out),
        syn::Pat::Struct(s) => s.fields.iter().for_each(|f| pat_idents(&f.pat, out)),
        _ => {}
    }
}

struct Effects<'a, 'b> {
    sp: &'a Spanner<'b>,
    out: Summary,
    /// Names whose mutation changes shared state: `self`, state parameters, lock guards.
    shared: HashSet<String>,
    depth: u32,
}

/// The variable an expression starts from (`state` in `state.items.lock().insert(…)`), and
/// whether a lock or mutable borrow is taken on the way.
fn root_of(e: &Expr) -> (Option<String>, bool) {
    let mut e = e;
    let mut locked = false;
    loop {
        match peel_await(e) {
            Expr::Field(f) => e = &f.base,
            Expr::Index(i) => e = &i.expr,
            Expr::Try(t) => e = &t.expr,
            Expr::Unary(u) => e = &u.expr,
            Expr::MethodCall(m) => {
                let n = m.method.to_string();
                if matches!(
                    n.as_str(),
                    "lock" | "write" | "borrow_mut" | "lock_owned" | "write_owned" | "get_mut"
                ) {
                    locked = true;
                }
                e = &m.receiver;
            }
            Expr::Path(p) => {
                let id = p.path.segments.last().map(|s| s.ident.to_string());
                return (id, locked);
            }
            _ => return (None, locked),
        }
    }
}

/// Whether an expression builds a copy rather than a handle (`state.items.clone()`).
fn copies(e: &Expr) -> bool {
    matches!(peel_await(e), Expr::MethodCall(m) if matches!(m.method.to_string().as_str(),
        "clone" | "to_vec" | "to_owned" | "collect" | "to_string" | "cloned" | "len" | "iter"))
}

impl Effects<'_, '_> {
    fn write(&mut self, what: impl Into<String>, loc: Location) {
        self.out.writes.push((what.into(), loc));
    }

    fn is_shared(&self, root: &Option<String>) -> bool {
        root.as_ref().is_some_and(|r| {
            self.shared.contains(r)
                || (r.len() > 1 && r.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        })
    }

    fn literal(&mut self, s: &str, loc: impl FnOnce() -> Location) {
        if s.len() >= 8 {
            if let Some(w) = sql_write(s) {
                self.write(w, loc());
            }
        }
    }

    /// A macro's tokens when they are not expressions: SQL strings and write-method names
    /// decide; anything else is unknown.
    fn opaque_macro(&mut self, name: &str, tokens: TokenStream, at: Location) {
        let mut found = false;
        scan_tokens(tokens, &mut |t| match t {
            TokenTree::Literal(l) => {
                let s = l.to_string();
                if let Some(w) = sql_write(s.trim_matches(|c| c == '"' || c == 'r' || c == '#')) {
                    self.out.writes.push((w, self.sp.loc(l.span())));
                    found = true;
                }
            }
            TokenTree::Ident(i) => {
                let s = i.to_string();
                if let Some((_, what)) =
                    WRITE_METHODS.iter().chain(WRITE_FNS).find(|(m, _)| *m == s)
                {
                    self.out.writes.push((
                        format!("{what} (`{s}` in `{name}!`)"),
                        self.sp.loc(i.span()),
                    ));
                    found = true;
                }
            }
            _ => {}
        });
        if !found {
            self.out.unknown.push((
                format!("uses the macro `{name}!`, which the gate does not read"),
                at,
            ));
        }
    }
}

fn scan_tokens(ts: TokenStream, f: &mut impl FnMut(&TokenTree)) {
    for t in ts {
        if let TokenTree::Group(g) = &t {
            scan_tokens(g.stream(), f);
        } else {
            f(&t);
        }
    }
}

impl<'ast> Visit<'ast> for Effects<'_, '_> {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let Some(init) = &l.init {
            let (root, locked) = root_of(&init.expr);
            let handle = locked
                || (self.is_shared(&root)
                    && !copies(&init.expr)
                    && matches!(peel_await(&init.expr), Expr::Reference(r) if r.mutability.is_some()));
            if handle {
                let mut names = Vec::new();
                pat_idents(&l.pat, &mut names);
                self.shared.extend(names);
            }
        }
        syn::visit::visit_local(self, l);
    }

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        let (root, locked) = root_of(&a.left);
        let target_is_place =
            !matches!(peel_await(&a.left), Expr::Path(_)) || matches!(&*a.left, Expr::Unary(_));
        if target_is_place && (locked || self.is_shared(&root)) {
            let loc = self.sp.loc(a.eq_token.span);
            self.write("assigns to shared state", loc);
        }
        syn::visit::visit_expr_assign(self, a);
    }

    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        use syn::BinOp::*;
        if matches!(
            b.op,
            AddAssign(_)
                | SubAssign(_)
                | MulAssign(_)
                | DivAssign(_)
                | BitOrAssign(_)
                | BitAndAssign(_)
                | RemAssign(_)
                | BitXorAssign(_)
                | ShlAssign(_)
                | ShrAssign(_)
        ) {
            let (root, locked) = root_of(&b.left);
            let place =
                !matches!(peel_await(&b.left), Expr::Path(_)) || matches!(&*b.left, Expr::Unary(_));
            if place && (locked || self.is_shared(&root)) {
                let loc = self.sp.loc(b.op.span());
                self.write("updates shared state", loc);
            }
        }
        syn::visit::visit_expr_binary(self, b);
    }

    fn visit_expr_method_call(&mut self, mc: &'ast syn::ExprMethodCall) {
        let m = mc.method.to_string();
        let loc = self.sp.range(mc.method.span(), mc.paren_token.span.close());
        let n = mc.args.len();
        let on_self = matches!(peel_await(&mc.receiver), Expr::Path(p) if p.path.is_ident("self"));
        if let Some((_, what)) = WRITE_METHODS.iter().find(|(w, _)| *w == m) {
            self.write(format!("{what} (`.{m}(…)`)"), loc);
        } else if matches!(m.as_str(), "post" | "put" | "patch" | "delete")
            && n == 1
            && handle_word(&mc.args[0])
        {
            self.write(format!("writes a record (`.{m}(…)`)"), loc);
        } else if matches!(m.as_str(), "post" | "put" | "patch" | "delete") && n >= 1 {
            self.write(format!("sends {} (`.{m}(…)`)", m.to_ascii_uppercase()), loc);
        } else if matches!(m.as_str(), "send" | "try_send" | "send_async" | "broadcast") && n >= 1 {
            self.write(format!("sends a message (`.{m}(…)`)"), loc);
        } else if m == "request" && n >= 1 && method_word(&mc.args[0]) {
            self.write("sends a side-effecting request (`.request(…)`)", loc);
        } else if matches!(
            m.as_str(),
            "write" | "append" | "create" | "create_new" | "truncate"
        ) && opens_file(&mc.receiver)
        {
            self.write("opens a file for writing (`OpenOptions`)", loc);
        } else if MUTATING_METHODS.contains(&m.as_str()) {
            let (root, locked) = root_of(&mc.receiver);
            let orm = n == 1
                && matches!(m.as_str(), "insert" | "update" | "delete")
                && handle_word(&mc.args[0]);
            if locked {
                self.write(
                    format!("mutates shared state behind a lock (`.{m}(…)`)"),
                    loc,
                );
            } else if orm {
                self.write(format!("writes a record (`.{m}(…)`)"), loc);
            } else if self.is_shared(&root) {
                let r = root.unwrap_or_default();
                self.write(format!("mutates shared state `{r}` (`.{m}(…)`)"), loc);
            }
        } else if m == "write" && n >= 1 && !opens_file(&mc.receiver) {
            self.write("writes to a file or stream (`.write(…)`)", loc);
        } else if on_self {
            self.out.calls.push((Callee::SelfMethod(m), loc));
        } else {
            // pure names too: the workspace may define a method of that name that writes
            self.out.calls.push((Callee::Method(m), loc));
        }
        syn::visit::visit_expr_method_call(self, mc);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Expr::Path(p) = peel_await(&c.func) {
            let segs = path_segments(&p.path);
            let last = segs.last().cloned().unwrap_or_default();
            let loc = self.sp.range(c.func.span(), c.paren_token.span.close());
            let prev = segs.len().checked_sub(2).and_then(|i| segs.get(i));
            let fs = prev.is_some_and(|p| p == "fs" || p == "File" || p == "tokio_fs");
            if fs && matches!(last.as_str(), "write" | "create" | "copy" | "hard_link") {
                self.write(format!("writes a file (`{}`)", segs.join("::")), loc);
            } else if segs.len() >= 2
                && matches!(last.as_str(), "post" | "put" | "patch" | "delete")
                && segs.first().is_some_and(|f| {
                    matches!(f.as_str(), "reqwest" | "ureq" | "surf" | "awc" | "isahc")
                })
            {
                self.write(
                    format!(
                        "sends {} (`{}`)",
                        last.to_ascii_uppercase(),
                        segs.join("::")
                    ),
                    loc,
                );
            } else if segs.len() == 1 && self.shared.contains(&last) {
                // a closure or function parameter: whatever it is, the gate cannot see it
                self.out
                    .unknown
                    .push((format!("calls the parameter `{last}`"), loc));
            } else {
                self.out.calls.push((Callee::Path(segs), loc));
            }
        }
        syn::visit::visit_expr_call(self, c);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        let n = p.path.segments.len();
        if n >= 2 {
            let last = p.path.segments[n - 1].ident.to_string();
            if matches!(last.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
                && p.path.segments[n - 2].ident == "Method"
            {
                let loc = self.sp.loc(p.path.segments[n - 1].ident.span());
                self.write(format!("sends {last} (`Method::{last}`)"), loc);
            }
        }
        syn::visit::visit_expr_path(self, p);
    }

    fn visit_lit_str(&mut self, l: &'ast syn::LitStr) {
        let s = l.value();
        self.literal(&s, || self.sp.loc(l.span()));
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let name = last_ident(&m.path);
        let at = self.sp.loc(m.path.span());
        if self.depth > 8 {
            return;
        }
        self.depth += 1;
        let args = m.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated);
        if SQL_MACROS.contains(&name.as_str()) {
            match &args {
                Ok(args) => args.iter().for_each(|a| self.visit_expr(a)),
                Err(_) => self.opaque_macro(&name, m.tokens.clone(), at),
            }
        } else if EXPR_MACROS.contains(&name.as_str()) || reporting_macro(&name) {
            if let Ok(args) = &args {
                args.iter().for_each(|a| self.visit_expr(a));
            } else if name == "json" {
                // `json!({ "k": v })`: values are expressions, keys are not
                let mut found = false;
                scan_tokens(m.tokens.clone(), &mut |t| {
                    if let TokenTree::Ident(i) = t {
                        found |= WRITE_METHODS.iter().any(|(w, _)| i == w);
                    }
                });
                if found {
                    self.opaque_macro(&name, m.tokens.clone(), at);
                }
            }
        } else if matches!(name.as_str(), "select" | "try_join_all") {
            self.opaque_macro(&name, m.tokens.clone(), at);
        } else {
            self.opaque_macro(&name, m.tokens.clone(), at);
        }
        self.depth -= 1;
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {
        // items nested in a body (helper fns, consts) are not run by it
    }
}

/// Macros that by their name log, format, render or build an error (`err!`, `admin_error!`,
/// `security_info!`, `render!`, `i18n!`): their arguments are read, the macro adds no effect.
fn reporting_macro(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "err", "error", "log", "info", "warn", "debug", "trace", "fmt", "format", "render", "i18n",
        "html", "template", "assert", "bail", "ensure",
    ];
    name.split('_').any(|w| WORDS.contains(&w))
}

/// Whether a method argument names an HTTP method that changes things (`Method::POST`,
/// `"POST"`).
fn method_word(e: &Expr) -> bool {
    match peel_await(e) {
        Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
            matches!(
                s.ident.to_string().as_str(),
                "POST" | "PUT" | "PATCH" | "DELETE"
            )
        }),
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => {
            matches!(
                s.value().to_ascii_uppercase().as_str(),
                "POST" | "PUT" | "PATCH" | "DELETE"
            )
        }
        _ => false,
    }
}

/// Whether an argument looks like a database handle (`&db`, `&mut conn`, `state.pool`).
fn handle_word(e: &Expr) -> bool {
    let (root, _) = root_of(e);
    let mut words = root.unwrap_or_default().to_ascii_lowercase();
    if let Expr::Field(f) = peel_await(e) {
        if let syn::Member::Named(n) = &f.member {
            words.push(' ');
            words.push_str(&n.to_string().to_ascii_lowercase());
        }
    }
    ["db", "conn", "pool", "tx", "txn", "transaction", "executor"]
        .iter()
        .any(|w| {
            words
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .any(|x| {
                    x == *w || x.ends_with(&format!("_{w}")) || x.starts_with(&format!("{w}_"))
                })
        })
}

/// Whether a receiver chain starts at `OpenOptions::new()`.
fn opens_file(e: &Expr) -> bool {
    match peel_await(e) {
        Expr::MethodCall(m) => opens_file(&m.receiver),
        Expr::Call(c) => matches!(&*c.func, Expr::Path(p)
            if p.path.segments.iter().any(|s| s.ident == "OpenOptions")),
        _ => false,
    }
}

/// How deep calls are followed from a handler.
pub const MAX_DEPTH: u32 = 3;

/// What a call leads to, as the linker resolves it.
pub enum Resolution<Id> {
    /// Functions of the scanned crates (several for a method name defined by several types).
    Fns(Vec<Id>),
    /// Code outside the scan known to only read or build values.
    Pure,
    /// Code the gate cannot see, with what to say about it.
    Unknown(String),
    /// Code outside the scan that writes, by its name (`diesel::insert_into`).
    Write(String),
}

/// The linker's side of [`classify`]: function bodies and call resolution.
pub trait Lookup {
    type Id: Copy + Eq + std::hash::Hash;
    /// The summary of a function's body; `None` when it cannot be parsed.
    fn summary(&mut self, f: Self::Id) -> Option<std::rc::Rc<Summary>>;
    fn resolve(&mut self, from: Self::Id, callee: &Callee) -> Resolution<Self::Id>;
    /// The crate-relative path of a function.
    fn name(&self, f: Self::Id) -> String;
}

/// Classifies what `f` does, following its calls [`MAX_DEPTH`] deep. Recursion contributes
/// nothing new (a function already being classified is skipped); results are memoized per
/// function and depth.
pub fn classify<L: Lookup>(
    l: &mut L,
    f: L::Id,
    memo: &mut std::collections::HashMap<(L::Id, u32), HandlerEffects>,
) -> HandlerEffects {
    let mut visiting = Vec::new();
    classify_at(l, f, 0, memo, &mut visiting)
}

fn classify_at<L: Lookup>(
    l: &mut L,
    f: L::Id,
    depth: u32,
    memo: &mut std::collections::HashMap<(L::Id, u32), HandlerEffects>,
    visiting: &mut Vec<L::Id>,
) -> HandlerEffects {
    if let Some(r) = memo.get(&(f, depth)) {
        return r.clone();
    }
    let Some(summary) = l.summary(f) else {
        return HandlerEffects::Unknown(Evidence {
            description: format!("the body of `{}` could not be parsed", l.name(f)),
            location: Location::file_start("".into()),
            through: Vec::new(),
        });
    };
    if let Some((what, at)) = summary.writes.first() {
        let r = HandlerEffects::Writes(Evidence {
            description: what.clone(),
            location: at.clone(),
            through: Vec::new(),
        });
        memo.insert((f, depth), r.clone());
        return r;
    }
    let mut unknown = summary.unknown.first().map(|(what, at)| Evidence {
        description: what.clone(),
        location: at.clone(),
        through: Vec::new(),
    });
    visiting.push(f);
    let mut result = None;
    'calls: for (callee, at) in &summary.calls {
        let ids = match l.resolve(f, callee) {
            Resolution::Pure => continue,
            Resolution::Unknown(what) => {
                unknown.get_or_insert_with(|| Evidence {
                    description: what,
                    location: at.clone(),
                    through: Vec::new(),
                });
                continue;
            }
            Resolution::Write(what) => {
                result = Some(HandlerEffects::Writes(Evidence {
                    description: what,
                    location: at.clone(),
                    through: Vec::new(),
                }));
                break 'calls;
            }
            Resolution::Fns(ids) => ids,
        };
        for id in ids {
            if visiting.contains(&id) {
                continue;
            }
            if depth + 1 > MAX_DEPTH {
                unknown.get_or_insert_with(|| Evidence {
                    description: format!(
                        "calls `{}`, more than {MAX_DEPTH} calls deep, which the gate does not follow",
                        l.name(id)
                    ),
                    location: at.clone(),
                    through: Vec::new(),
                });
                continue;
            }
            let via = |mut e: Evidence, l: &L| {
                e.through.insert(0, l.name(id));
                e
            };
            match classify_at(l, id, depth + 1, memo, visiting) {
                HandlerEffects::Writes(e) => {
                    result = Some(HandlerEffects::Writes(via(e, l)));
                    break 'calls;
                }
                HandlerEffects::Unknown(e) => {
                    if unknown.is_none() {
                        unknown = Some(via(e, l));
                    }
                }
                _ => {}
            }
        }
    }
    visiting.pop();
    let r = result.unwrap_or_else(|| match unknown {
        Some(e) => HandlerEffects::Unknown(e),
        None => HandlerEffects::ReadOnly,
    });
    memo.insert((f, depth), r.clone());
    r
}

/// The signature and body of function `name` (a method of `owner`) inside `item`.
pub fn find_fn<'i>(
    item: &'i syn::Item,
    name: &str,
    owner: Option<&str>,
) -> Option<(&'i Signature, &'i Block)> {
    match item {
        syn::Item::Fn(f) if owner.is_none() && f.sig.ident == name => Some((&f.sig, &f.block)),
        syn::Item::Impl(i) if owner.is_some() => {
            let ty = match &*i.self_ty {
                syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
                _ => None,
            };
            if ty.as_deref() != owner {
                return None;
            }
            i.items.iter().find_map(|ii| match ii {
                syn::ImplItem::Fn(m) if m.sig.ident == name => Some((&m.sig, &m.block)),
                _ => None,
            })
        }
        syn::Item::Trait(t) if owner.is_some_and(|o| t.ident == o) => {
            t.items.iter().find_map(|ti| match ti {
                syn::TraitItem::Fn(m) if m.sig.ident == name => {
                    m.default.as_ref().map(|b| (&m.sig, b))
                }
                _ => None,
            })
        }
        syn::Item::Mod(m) => m
            .content
            .as_ref()
            .and_then(|(_, items)| items.iter().find_map(|i| find_fn(i, name, owner))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use idemgate_rules::LineIndex;
    use std::sync::Arc;

    fn summary(src: &str) -> Summary {
        let f: syn::ItemFn = syn::parse_str(src).unwrap();
        let file: Arc<str> = Arc::from("src/x.rs");
        let index = LineIndex::new(src);
        let sp = Spanner::new(&file, src, &index, 0);
        summarize(&sp, &f.sig, &f.block)
    }

    fn writes(src: &str) -> Vec<String> {
        summary(src).writes.into_iter().map(|(w, _)| w).collect()
    }

    #[test]
    fn sql_strings() {
        assert_eq!(
            sql_write("INSERT INTO orders (id) VALUES ($1)").as_deref(),
            Some("inserts into `orders`")
        );
        assert_eq!(
            sql_write("update users set name = $1").as_deref(),
            Some("updates `users`")
        );
        assert_eq!(
            sql_write("DELETE FROM \"sessions\" WHERE id = 1").as_deref(),
            Some("deletes from `sessions`")
        );
        assert_eq!(
            sql_write("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x").as_deref(),
            Some("inserts into `t`")
        );
        assert_eq!(sql_write("SELECT * FROM orders WHERE id = $1"), None);
        assert_eq!(sql_write("Update failed, try again"), None);
        assert_eq!(sql_write("please delete from the list"), None);
    }

    #[test]
    fn writes_are_found_with_their_line() {
        let s = summary("async fn f(State(db): State<Db>) {\n    sqlx::query(\"INSERT INTO orders VALUES (1)\")\n        .execute(&db).await;\n}");
        let lines: Vec<(String, u32)> = s.writes.iter().map(|(w, l)| (w.clone(), l.line)).collect();
        assert_eq!(
            lines,
            vec![
                ("executes a statement (`.execute(…)`)".to_string(), 3),
                ("inserts into `orders`".to_string(), 2)
            ]
        );
    }

    #[test]
    fn each_write_kind() {
        assert_eq!(
            writes("fn f(c: &Client) { c.post(url).send(); }"),
            vec!["sends POST (`.post(…)`)"]
        );
        assert_eq!(
            writes("fn f(tx: Sender<u8>) { tx.send(1); }"),
            vec!["sends a message (`.send(…)`)"]
        );
        assert_eq!(
            writes("fn f() { std::fs::write(\"a\", b\"x\"); }"),
            vec!["writes a file (`std::fs::write`)"]
        );
        assert_eq!(
            writes("fn f(s: State<S>) { s.items.lock().unwrap().insert(1, 2); }"),
            vec!["mutates shared state behind a lock (`.insert(…)`)"]
        );
        assert_eq!(
            writes("fn f(s: State<S>) { let mut g = s.n.lock().unwrap(); *g += 1; }"),
            vec!["updates shared state"]
        );
        assert_eq!(
            writes("fn f(s: State<S>) { s.hits.fetch_add(1, Ordering::SeqCst); }"),
            vec!["updates an atomic (`.fetch_add(…)`)"]
        );
        assert_eq!(
            write_path(&["diesel".into(), "insert_into".into()]).as_deref(),
            Some("inserts rows (`diesel::insert_into`)")
        );
        assert_eq!(
            write_path(&["Order".into(), "insert".into()]).as_deref(),
            Some("writes records (`Order::insert`)")
        );
        assert_eq!(write_path(&["HashMap".into(), "insert".into()]), None);
        assert_eq!(
            writes("async fn f(db: &Db) { am.insert(db).await; }"),
            vec!["writes a record (`.insert(…)`)"]
        );
        assert_eq!(
            writes("fn f() { OpenOptions::new().append(true).open(p); }"),
            vec!["opens a file for writing (`OpenOptions`)"]
        );
    }

    #[test]
    fn local_work_is_not_a_write() {
        assert!(writes("fn f(Json(mut o): Json<O>) { let mut v = Vec::new(); v.push(1); o.items.push(2); let mut m = HashMap::new(); m.insert(1, 2); }").is_empty());
        assert!(writes("fn f(s: State<S>) { let v = s.items.clone(); let n = s.items.lock().unwrap().get(&1); }").is_empty());
    }

    #[test]
    fn calls_and_unknown_macros() {
        let s = summary("fn f(s: State<S>) { let x = db::find(1); s.repo.charge(x); my_macro!{ a b }; println!(\"{}\", helper(x)); }");
        let calls: Vec<Callee> = s.calls.into_iter().map(|(c, _)| c).collect();
        assert!(calls.contains(&Callee::Path(vec!["db".into(), "find".into()])));
        assert!(calls.contains(&Callee::Method("charge".into())));
        assert!(calls.contains(&Callee::Path(vec!["helper".into()])));
        assert_eq!(s.unknown.len(), 1);
        assert!(s.unknown[0].0.contains("my_macro!"));
        let s = summary("fn f() { sqlx::query!(\"UPDATE t SET a = 1 WHERE id = $1\", id); }");
        assert_eq!(s.writes[0].0, "updates `t`");
    }
}
