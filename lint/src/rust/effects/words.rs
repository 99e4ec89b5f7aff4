//! The word lists that decide what a call outside the scan does: kept here, in one place, and
//! short on purpose, since a call not on them is *unknown*, never read-only.

/// Methods that only read, convert or build values, on whatever receiver.
#[rustfmt::skip]
pub(super) const PURE_METHODS: &[&str] = &[
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
    "peer_addr", "connection_info", "match_info", "cookie", "validate", "read_to_end", "read_exact", "unix_timestamp", "timestamp_millis", "render", "render_once", "for_each", "fold", "floor", "ceil", "round", "sqrt", "cast_unsigned", "cast_signed", "message", "inspect_err", "sign_with_key", "verify_with_key", "into_parts", "into_tuple", "code", "customize", "identity", "lock", "lock_owned", "read_owned", "write_owned", "read", "try_read",
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
pub(super) const MUTATING_METHODS: &[&str] = &[
    "insert", "push", "push_back", "push_front", "remove", "pop", "pop_front", "pop_back", "clear",
    "extend", "retain", "append", "truncate", "drain", "entry", "or_insert", "or_insert_with",
    "set", "store", "swap", "take", "update", "delete", "get_mut", "modify",
    "alter", "insert_many",
];

/// Methods that always change something outside the function.
#[rustfmt::skip]
pub(super) const WRITE_METHODS: &[(&str, &str)] = &[
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
pub(super) const WRITE_FNS: &[(&str, &str)] = &[
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
pub(super) const PURE_FNS: &[&str] = &[
    "to",    "deserialize", "serialize", "open", "open_async", "read_to_string",    "now_utc", "block_in_place", "spawn_blocking", "seconds", "minutes", "hours", "days", "see_other", "temporary", "query", "query_as", "query_scalar", "query_with", "sql_query",    "new", "default", "from", "try_from", "from_str", "with_capacity", "now", "parse", "to_string",
    "to_vec", "min", "max", "from_secs", "from_millis", "format", "into", "new_v4", "new_v7",
    "now_v7", "from_utc", "today", "utc", "get", "as_ref", "clone", "sleep", "timeout", "ready",
    "pending", "spawn", "block_on", "drop", "size_of", "take", "from_slice", "from_value",
    "to_value", "to_vec_pretty", "to_string_pretty", "ok", "from_utf8", "from_utf8_lossy",
    "encode", "decode", "hash", "verify",
];
pub(super) const PURE_CRATES: &[&str] =
    &["serde_json", "serde", "std", "core", "alloc", "validator"];

/// Macros whose arguments are expressions and which add no effect of their own.
#[rustfmt::skip]
pub(super) const EXPR_MACROS: &[&str] = &[
    "format", "println", "print", "eprintln", "eprint", "info", "warn", "error", "debug", "trace",
    "event", "assert", "assert_eq", "assert_ne", "debug_assert", "debug_assert_eq", "panic", "vec",
    "matches", "anyhow", "bail", "ensure", "format_err", "todo", "unimplemented", "unreachable",
    "dbg", "write", "writeln", "join", "try_join", "concat", "stringify", "env", "option_env",
    "include_str", "line", "file", "column", "json", "pin", "format_args", "instrument",
];

/// SQL query macros: their string says what they do.
#[rustfmt::skip]
pub(super) const SQL_MACROS: &[&str] = &[
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

/// Macros that by their name log, format, render or build an error (`err!`, `admin_error!`,
/// `security_info!`, `render!`, `i18n!`): their arguments are read, the macro adds no effect.
pub(super) fn reporting_macro(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "err", "error", "log", "info", "warn", "debug", "trace", "fmt", "format", "render", "i18n",
        "html", "template", "assert", "bail", "ensure",
    ];
    name.split('_').any(|w| WORDS.contains(&w))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn writes_by_path_outside_the_scan() {
        assert_eq!(
            write_path(&["diesel".into(), "insert_into".into()]).as_deref(),
            Some("inserts rows (`diesel::insert_into`)")
        );
        assert_eq!(
            write_path(&["Order".into(), "insert".into()]).as_deref(),
            Some("writes records (`Order::insert`)")
        );
        assert_eq!(write_path(&["HashMap".into(), "insert".into()]), None);
    }
}
