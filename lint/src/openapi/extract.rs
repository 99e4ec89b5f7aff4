//! From a document's tree to facts: operations with their key headers, body key, effective
//! `x-idempotency` strategy and responses, plus the exemptions the document declares
//! (`x-idemgate-ignore`, `x-idempotency: {strategy: none}`).

use std::collections::HashSet;

use idemgate_rules::model::openapi::{
    parse_retention_seconds, BodyKey, KeyHeader, KeySchema, Operation, Response, Retention,
    SpecVersion, Strategy, StrategyKind, StrategyLevel,
};
use idemgate_rules::model::{Exemption, ExemptionOrigin, ExemptionScope};
use idemgate_rules::Location;

use super::resolve::{At, Diagnostics, Files};
use super::tree::{Entry, Node, Value};

pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What one pass over a document found.
pub struct Extracted {
    pub strategy: Option<Strategy>,
    pub operations: Vec<Operation>,
    pub exemptions: Vec<Exemption>,
}

/// The document's version from its root, `None` when the root is not an OpenAPI document.
pub fn version(root: &Node<'_>) -> Option<SpecVersion> {
    if let Some(v) = root.get("swagger") {
        return v
            .as_text()
            .filter(|t| t.starts_with('2'))
            .map(|_| SpecVersion::Swagger2)
            .or(Some(SpecVersion::Swagger2));
    }
    let v = root.get("openapi")?.as_text()?;
    if v.starts_with("3.0") {
        Some(SpecVersion::OpenApi30)
    } else {
        Some(SpecVersion::OpenApi31)
    }
}

struct Walker<'f, 'a, 'd> {
    files: &'f Files<'a>,
    diag: &'d mut Diagnostics,
    version: SpecVersion,
    /// Body properties that carry a key (`[openapi] key-fields`).
    key_fields: &'d [String],
    exemptions: Vec<Exemption>,
}

/// An `x-idempotency` as written at one level, before levels are merged.
struct Declared {
    kind: Option<StrategyKind>,
    location: Location,
    level: StrategyLevel,
    header: Option<(String, Location)>,
    reason: Option<String>,
    retention: Option<Retention>,
}

pub fn extract(
    files: &Files<'_>,
    version: SpecVersion,
    key_fields: &[String],
    diag: &mut Diagnostics,
) -> Extracted {
    let mut w = Walker {
        files,
        diag,
        version,
        key_fields,
        exemptions: Vec::new(),
    };
    let root = files.root();
    let root_decl = root
        .node
        .entry("x-idempotency")
        .map(|e| w.declared(0, e, StrategyLevel::Document));
    if let Some(e) = root.node.entry("x-idemgate-ignore") {
        // The whole document: the root file and every file it references.
        w.ignores(0, &e.value, Cover::Document);
    }
    let mut operations = Vec::new();
    for (section, is_webhook) in [("paths", false), ("webhooks", true)] {
        let Some(entry) = root.node.entry(section) else {
            continue;
        };
        let Some(paths) = w.deref(0, &entry.value, Some(entry)) else {
            continue;
        };
        for item in paths.node.entries() {
            if item.key.starts_with("x-") {
                continue;
            }
            let at = At {
                file: paths.file,
                node: &item.value,
                key: Some((item.key_start, item.key_end)),
            };
            let Some(resolved) = w.files.deref(at, w.diag) else {
                continue;
            };
            let via: Vec<Location> = w.ref_loc(paths.file, &item.value).into_iter().collect();
            w.path_item(
                &item.key,
                resolved,
                &via,
                is_webhook,
                root_decl.as_ref(),
                &mut operations,
            );
        }
    }
    Extracted {
        strategy: root_decl.as_ref().and_then(|d| merge(&[Some(d)])),
        operations,
        exemptions: w.exemptions,
    }
}

/// What an `x-idemgate-ignore` covers.
enum Cover {
    /// Lines of one file: those of the byte range `start..end`.
    Lines { file: usize, start: u32, end: u32 },
    /// Every file of the document (a root-level ignore).
    Document,
}

/// An operation as found: the file and node that hold it, where findings about it point, and
/// the `$ref`s that brought it in.
struct OpAt<'f, 'a> {
    file: usize,
    node: &'f Node<'a>,
    /// The method key (inline), the key a `$ref` pointer ended at, or the start of the file
    /// that holds the operation.
    location: Location,
    /// The bytes of `file` the operation covers (exemption scope).
    span: (u32, u32),
    /// The `$ref`s (path item's, operation's) that lead here, outermost first.
    via: Vec<Location>,
}

/// Merges declarations, most specific first: the strategy comes from the most specific level
/// that names one; `header` and `retention` likewise fall back level by level.
fn merge(levels: &[Option<&Declared>]) -> Option<Strategy> {
    let present: Vec<&Declared> = levels.iter().flatten().copied().collect();
    let first = present.first()?;
    let with_kind = present.iter().find(|d| d.kind.is_some());
    Some(Strategy {
        kind: with_kind
            .and_then(|d| d.kind.clone())
            .unwrap_or(StrategyKind::Unspecified),
        location: with_kind.map_or(&first.location, |d| &d.location).clone(),
        level: with_kind.map_or(first.level, |d| d.level),
        reason: with_kind.and_then(|d| d.reason.clone()),
        header: present.iter().find_map(|d| d.header.clone()),
        retention: present.iter().find_map(|d| d.retention.clone()),
    })
}

impl<'f, 'a> Walker<'f, 'a, '_> {
    fn loc(&self, file: usize, start: u32, end: u32) -> Location {
        self.files.loc(file, start, end)
    }

    fn key_loc(&self, file: usize, e: &Entry<'_>) -> Location {
        self.loc(file, e.key_start, e.key_end)
    }

    fn node_loc(&self, file: usize, n: &Node<'_>) -> Location {
        self.loc(file, n.start, n.end)
    }

    /// Follows the `$ref`s of `node` (written in `file`); `None` (reported) when one cannot be.
    fn deref(
        &mut self,
        file: usize,
        node: &'f Node<'a>,
        entry: Option<&'f Entry<'a>>,
    ) -> Option<At<'f, 'a>> {
        let at = At {
            file,
            node,
            key: entry.map(|e| (e.key_start, e.key_end)),
        };
        self.files.deref(at, self.diag)
    }

    /// The location of `node`'s `$ref` value, when `node` is a reference.
    fn ref_loc(&self, file: usize, node: &Node<'_>) -> Option<Location> {
        node.ref_target()
            .map(|(_, e)| self.loc(file, e.value.start, e.value.end))
    }

    fn declared(&mut self, file: usize, e: &'f Entry<'a>, level: StrategyLevel) -> Declared {
        let location = self.key_loc(file, e);
        // `x-idempotency: {$ref: …}` shares one declaration between operations.
        let (file, node) = match self.deref(file, &e.value, None) {
            Some(r) => (r.file, r.node),
            None => (file, &e.value),
        };
        let text = |k: &str| {
            node.get(k)
                .and_then(|n| n.as_text())
                .map(|t| t.into_owned())
        };
        let kind = match &node.value {
            // `x-idempotency: key` — the short form.
            Value::Str(s) => Some(StrategyKind::parse(s)),
            _ => text("strategy").map(|s| StrategyKind::parse(&s)),
        };
        let header = node.entry("header").and_then(|h| {
            h.value
                .as_text()
                .map(|t| (t.into_owned(), self.node_loc(file, &h.value)))
        });
        let retention = node.entry("retention").map(|r| {
            let text = r
                .value
                .as_text()
                .map(|t| t.into_owned())
                .unwrap_or_default();
            Retention {
                seconds: parse_retention_seconds(&text),
                text,
                location: self.node_loc(file, &r.value),
            }
        });
        Declared {
            kind,
            location,
            level,
            header,
            reason: text("reason"),
            retention,
        }
    }

    /// `x-idemgate-ignore: [{rule, reason}]` (or `[RULE]`, or one mapping), written in `file`,
    /// covering `cover`.
    fn ignores(&mut self, file: usize, node: &Node<'_>, cover: Cover) {
        let items: Vec<&Node<'_>> = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let scope = match cover {
            Cover::Lines { file, start, end } => {
                let l = self.loc(file, start, end);
                ExemptionScope::Lines {
                    file: self.files.rel(file),
                    start: l.line,
                    end: l.end_line,
                }
            }
            Cover::Document => ExemptionScope::Glob {
                pattern: document_glob(self.files),
                key: None,
            },
        };
        for item in items {
            let (rule, reason) = match &item.value {
                Value::Map(_) => (
                    item.get("rule")
                        .and_then(|r| r.as_text())
                        .map(|t| t.into_owned()),
                    item.get("reason")
                        .and_then(|r| r.as_text())
                        .map(|t| t.into_owned()),
                ),
                _ => (item.as_text().map(|t| t.into_owned()), None),
            };
            let Some(rule) = rule else { continue };
            self.exemptions.push(Exemption {
                rule: rule.trim().to_ascii_uppercase(),
                reason,
                origin: ExemptionOrigin::OpenApi,
                // The rule it names (what a reader looks for), else the entry.
                location: self.node_loc(file, item.get("rule").unwrap_or(item)),
                scope: scope.clone(),
                report_unused: true,
            });
        }
    }

    fn path_item(
        &mut self,
        path: &str,
        item: At<'f, 'a>,
        via: &[Location],
        is_webhook: bool,
        root_decl: Option<&Declared>,
        out: &mut Vec<Operation>,
    ) {
        let file = item.file;
        let node = item.node;
        let item_decl = node
            .entry("x-idempotency")
            .map(|e| self.declared(file, e, StrategyLevel::PathItem));
        if let Some(e) = node.entry("x-idemgate-ignore") {
            let cover = Cover::Lines {
                file,
                start: node.start,
                end: node.end,
            };
            self.ignores(file, &e.value, cover);
        }
        let path_params = node.entry("parameters").map(|e| (file, &e.value));
        for m in node.entries() {
            let method = m.key.to_ascii_lowercase();
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            // `post: {$ref: "resources/x/x_create.yml"}` (or `'#/components/x-ops/create'`):
            // not in the OpenAPI grammar, but real specs write it and tools follow it.
            let Some(op) = self.deref(file, &m.value, Some(m)) else {
                continue;
            };
            let mut op_via = via.to_vec();
            let at = if m.value.ref_target().is_none() {
                OpAt {
                    file,
                    node: op.node,
                    location: self.key_loc(file, m),
                    span: (m.key_start, m.value.end),
                    via: op_via,
                }
            } else {
                op_via.extend(self.ref_loc(file, &m.value));
                let (start, location) = match op.key {
                    Some((ks, ke)) => (ks, self.loc(op.file, ks, ke)),
                    None => {
                        // A whole file (or a pointer to a value): its first key.
                        let first = op.node.entries().first();
                        let (ks, ke) = first
                            .map_or((op.node.start, op.node.start), |e| (e.key_start, e.key_end));
                        (op.node.start, self.loc(op.file, ks, ke))
                    }
                };
                OpAt {
                    file: op.file,
                    node: op.node,
                    location,
                    span: (start, op.node.end),
                    via: op_via,
                }
            };
            if !at.node.is_map() {
                let span = m
                    .value
                    .ref_target()
                    .map_or((m.key_start, m.key_end), |(_, e)| {
                        (e.value.start, e.value.end)
                    });
                let what = match &at.node.value {
                    Value::Null => "is empty",
                    _ => "is not a mapping",
                };
                self.diag.error(
                    self.files,
                    file,
                    span,
                    format!("operation `{}` {what}; it was not checked", m.key),
                );
                continue;
            }
            let op = self.operation(
                path,
                &method,
                at,
                path_params,
                is_webhook,
                [None, item_decl.as_ref(), root_decl],
            );
            out.push(op);
        }
    }

    fn operation(
        &mut self,
        path: &str,
        method: &str,
        at: OpAt<'f, 'a>,
        path_params: Option<(usize, &'f Node<'a>)>,
        is_webhook: bool,
        inherited: [Option<&Declared>; 3],
    ) -> Operation {
        let OpAt {
            file,
            node,
            location,
            span,
            via,
        } = at;
        let op_lines = self.loc(file, span.0, span.1);
        let mut op = Operation {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            operation_id: node
                .get("operationId")
                .and_then(|n| n.as_text())
                .map(|t| t.into_owned()),
            location: location.clone(),
            responses_location: node.entry("responses").map(|e| self.key_loc(file, e)),
            referenced_at: via,
            is_webhook,
            version: self.version,
            key_headers: Vec::new(),
            body_key: None,
            strategy: None,
            responses: Vec::new(),
            unresolved_refs: Vec::new(),
        };
        if let Some(e) = node.entry("x-idemgate-ignore") {
            let cover = Cover::Lines {
                file,
                start: span.0,
                end: span.1,
            };
            self.ignores(file, &e.value, cover);
        }

        // Strategy: operation, then path item, then document.
        let op_decl = node
            .entry("x-idempotency")
            .map(|e| self.declared(file, e, StrategyLevel::Operation));
        let [_, item_decl, root_decl] = inherited;
        op.strategy = merge(&[op_decl.as_ref(), item_decl, root_decl]);
        if let Some(s) = &op.strategy {
            if s.kind == StrategyKind::None {
                // `strategy: none` exempts this operation from OAS001, if it gives a reason
                // (IDEM003 reports it otherwise). Only an operation's own declaration is
                // reported when it hides nothing; inherited ones are implicit.
                self.exemptions.push(Exemption {
                    rule: "OAS001".into(),
                    reason: s.reason.clone(),
                    origin: ExemptionOrigin::OpenApi,
                    location: s.location.clone(),
                    scope: ExemptionScope::Lines {
                        file: self.files.rel(file),
                        start: op_lines.line,
                        end: op_lines.end_line,
                    },
                    report_unused: s.level == StrategyLevel::Operation,
                });
            }
        }

        // Parameters: the operation's own override the path item's with the same name and `in`.
        // A list may itself be a `$ref`.
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let own = node.entry("parameters").map(|e| (file, &e.value));
        for (list, path_level) in [(own, false), (path_params, true)] {
            let Some((list_file, list)) = list else {
                continue;
            };
            let Some(list) = self.deref(list_file, list, None) else {
                op.unresolved_refs.push(self.node_loc(list_file, list));
                continue;
            };
            for p in list.node.items() {
                let raw = At {
                    file: list.file,
                    node: p,
                    key: None,
                };
                let Some((param, definition)) = self.files.deref_named(raw, self.diag) else {
                    op.unresolved_refs.push(self.node_loc(list.file, p));
                    continue;
                };
                let via = self
                    .ref_loc(list.file, p)
                    .and_then(|at| definition.map(|d| (d, at)));
                let name = param.node.get("name").and_then(|n| n.as_text());
                let place = param.node.get("in").and_then(|n| n.as_text());
                let (Some(name), Some(place)) = (name, place) else {
                    // A `$ref` that resolves to something that is not a parameter (a whole
                    // `components/parameters` map, a schema) hides whatever it meant to add.
                    if let Some((target, e)) = p.ref_target() {
                        let span = (e.value.start, e.value.end);
                        let message = format!(
                            "`$ref` `{target}` does not point at a parameter (no `name` and `in`); it was not checked"
                        );
                        self.diag.error(self.files, list.file, span, message);
                        op.unresolved_refs.push(self.node_loc(list.file, p));
                    }
                    continue;
                };
                let id = (name.to_ascii_lowercase(), place.to_ascii_lowercase());
                if !seen.insert(id.clone()) && path_level {
                    continue;
                }
                match id.1.as_str() {
                    "header" => {
                        let h = self.key_header(param, &name, via, path_level);
                        op.key_headers.push(h);
                    }
                    "body" if op.body_key.is_none() => {
                        if let Some(schema) = param.node.get("schema") {
                            op.body_key = self.body_key(param.file, schema);
                        }
                    }
                    "formdata" if op.body_key.is_none() && self.is_key_field(&name) => {
                        let e = param.node.entry("name");
                        op.body_key = e.map(|e| {
                            let location = self.node_loc(param.file, &e.value);
                            let (types, max_length) = schema_facts(param.node);
                            BodyKey {
                                name: name.to_string(),
                                schema: KeySchema {
                                    location: location.clone(),
                                    types,
                                    max_length,
                                },
                                location,
                            }
                        });
                    }
                    _ => {}
                }
            }
        }

        // 3.x request body.
        if op.body_key.is_none() {
            if let Some(body) = node.get("requestBody") {
                match self.deref(file, body, None) {
                    Some(body) => {
                        for media in body.node.get("content").map_or(&[][..], |c| c.entries()) {
                            if let Some(schema) = media.value.get("schema") {
                                op.body_key = self.body_key(body.file, schema);
                                if op.body_key.is_some() {
                                    break;
                                }
                            }
                        }
                    }
                    None => op.unresolved_refs.push(self.node_loc(file, body)),
                }
            }
        }

        // Responses (the map itself may be a `$ref`).
        if let Some(entry) = node.entry("responses") {
            match self.deref(file, &entry.value, None) {
                Some(responses) => self.responses(responses, &mut op),
                None => op.unresolved_refs.push(self.node_loc(file, &entry.value)),
            }
        }
        op
    }

    fn responses(&mut self, responses: At<'f, 'a>, op: &mut Operation) {
        let file = responses.file;
        for r in responses.node.entries() {
            if r.key.starts_with("x-") {
                continue;
            }
            let code_loc = self.key_loc(file, r);
            if let Some(e) = r.value.entry("x-idemgate-ignore") {
                let cover = Cover::Lines {
                    file,
                    start: r.key_start,
                    end: r.value.end,
                };
                self.ignores(file, &e.value, cover);
            }
            let raw = At {
                file,
                node: &r.value,
                key: Some((r.key_start, r.key_end)),
            };
            let resolved = self.files.deref_named(raw, self.diag);
            let mut response = Response {
                code: r.key.to_string(),
                location: code_loc,
                definition: None,
                definition_pointer: None,
                has_retry_after: true,
                documents_conflict: false,
            };
            match resolved {
                Some((def, is_ref)) => {
                    response.has_retry_after = self.has_retry_after(def);
                    if is_error_range(&r.key) {
                        response.documents_conflict = documents_conflict(def.node);
                    }
                    if is_ref.is_some() {
                        // The component's key, or the first key of a whole-file response.
                        let (ks, ke) = def.key.unwrap_or_else(|| {
                            def.node
                                .entries()
                                .first()
                                .map_or((def.node.start, def.node.start), |e| {
                                    (e.key_start, e.key_end)
                                })
                        });
                        response.definition = Some(self.loc(def.file, ks, ke));
                        response.definition_pointer = is_ref;
                        if let Some(e) = def.node.entry("x-idemgate-ignore") {
                            let cover = Cover::Lines {
                                file: def.file,
                                start: ks,
                                end: def.node.end,
                            };
                            self.ignores(def.file, &e.value, cover);
                        }
                    }
                }
                None => op.unresolved_refs.push(self.node_loc(file, &r.value)),
            }
            op.responses.push(response);
        }
    }

    /// Whether a response documents `Retry-After` among its headers (the map, and each
    /// header, may be a `$ref`: each is followed, so a broken one is reported).
    fn has_retry_after(&mut self, def: At<'f, 'a>) -> bool {
        let Some(headers) = def.node.get("headers") else {
            return false;
        };
        let Some(headers) = self.deref(def.file, headers, None) else {
            return false;
        };
        let mut found = false;
        for h in headers.node.entries() {
            if h.key.trim().eq_ignore_ascii_case("retry-after") {
                found = true;
            }
            if h.value.ref_target().is_some() {
                let _ = self.deref(headers.file, &h.value, Some(h));
            }
        }
        found
    }

    fn is_key_field(&self, name: &str) -> bool {
        self.key_fields.iter().any(|f| f == name)
    }

    fn key_header(
        &mut self,
        param: At<'f, 'a>,
        name: &str,
        via: Option<(String, Location)>,
        path_level: bool,
    ) -> KeyHeader {
        let file = param.file;
        let p = param.node;
        let location = match p.entry("name") {
            Some(e) => self.node_loc(file, &e.value),
            None => self.node_loc(file, p),
        };
        // 3.x: `schema` (or `content.*.schema`); 2.0: `type`/`maxLength` on the parameter.
        let schema_entry = p.entry("schema").or_else(|| {
            p.get("content")
                .and_then(|c| c.entries().first())
                .and_then(|m| m.value.entry("schema"))
        });
        let schema = match schema_entry {
            Some(e) => {
                let raw = At {
                    file,
                    node: &e.value,
                    key: None,
                };
                let resolved = self.files.deref(raw, self.diag);
                let (types, max_length) =
                    resolved.map_or((Vec::new(), None), |s| schema_facts(s.node));
                KeySchema {
                    location: self.key_loc(file, e),
                    types,
                    max_length,
                }
            }
            None => {
                let (types, max_length) = schema_facts(p);
                KeySchema {
                    location: p
                        .entry("type")
                        .map_or_else(|| location.clone(), |e| self.key_loc(file, e)),
                    types,
                    max_length,
                }
            }
        };
        let (definition, referenced_at) = match via {
            Some((pointer, at)) => (Some(pointer), Some(at)),
            None => (None, None),
        };
        KeyHeader {
            name: name.to_string(),
            location,
            referenced_at,
            definition,
            standard: false,
            path_level,
            schema,
        }
    }

    /// Looks for a key property in a body schema: its `properties`, then through `allOf`.
    fn body_key(&mut self, file: usize, schema: &'f Node<'a>) -> Option<BodyKey> {
        let mut visited: Vec<(usize, u32)> = Vec::new();
        let mut stack = vec![At {
            file,
            node: schema,
            key: None,
        }];
        while let Some(at) = stack.pop() {
            let Some(s) = self.files.deref(at, self.diag) else {
                continue;
            };
            if visited.contains(&(s.file, s.node.start)) || visited.len() > 64 {
                continue;
            }
            visited.push((s.file, s.node.start));
            if let Some(props) = s.node.get("properties") {
                if let Some(e) = props.entries().iter().find(|e| self.is_key_field(&e.key)) {
                    let location = self.key_loc(s.file, e);
                    let raw = At {
                        file: s.file,
                        node: &e.value,
                        key: None,
                    };
                    let (types, max_length) = self
                        .files
                        .deref(raw, self.diag)
                        .map_or((Vec::new(), None), |p| schema_facts(p.node));
                    return Some(BodyKey {
                        name: e.key.to_string(),
                        schema: KeySchema {
                            location: location.clone(),
                            types,
                            max_length,
                        },
                        location,
                    });
                }
            }
            if let Some(all) = s.node.get("allOf") {
                for sub in all.items().iter().rev() {
                    stack.push(At {
                        file: s.file,
                        node: sub,
                        key: None,
                    });
                }
            }
        }
        None
    }
}

/// `4XX` (any case) or `default`: a response that may stand for 409 and 422.
fn is_error_range(code: &str) -> bool {
    code.eq_ignore_ascii_case("4xx") || code.eq_ignore_ascii_case("default")
}

/// Whether a `4XX`/`default` response documents the idempotency conflicts: its description,
/// or a problem `type`/`title`/`status` in its examples or schema (`enum`, `const`, `example`,
/// `default`), names a conflict, an in-flight or reused key, or status 409/422.
fn documents_conflict(response: &Node<'_>) -> bool {
    const WORDS: [&str; 12] = [
        "409",
        "422",
        "conflict",
        "idempoten",
        "in flight",
        "in-flight",
        "in progress",
        "already being processed",
        "still being processed",
        "reused",
        "different payload",
        "another payload",
    ];
    let says = |text: &str| {
        let t = text.to_ascii_lowercase();
        WORDS.iter().any(|w| t.contains(w))
    };
    if response
        .get("description")
        .and_then(|d| d.as_text())
        .is_some_and(|d| says(&d))
    {
        return true;
    }
    // Bounded walk over the media types' examples and schemas (inline only: a problem type
    // documented behind a `$ref` is not searched).
    let mut stack: Vec<(&Node<'_>, usize)> = response
        .get("content")
        .map_or(&[][..], |c| c.entries())
        .iter()
        .map(|m| (&m.value, 0))
        .collect();
    let mut budget = 2_000usize;
    while let Some((n, depth)) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 || depth > 12 {
            continue;
        }
        match &n.value {
            Value::Map(entries) => {
                for e in entries {
                    let scalar = matches!(
                        e.key.as_ref(),
                        "type" | "title" | "status" | "const" | "default" | "detail"
                    );
                    if scalar && e.value.as_text().is_some_and(|t| says(&t)) {
                        return true;
                    }
                    if e.key != "description" {
                        stack.push((&e.value, depth + 1));
                    }
                }
            }
            Value::Seq(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            // A bare value (an `enum` member, an `example` string).
            _ if n.as_text().is_some_and(|t| says(&t)) => return true,
            _ => {}
        }
    }
    false
}

/// A glob that matches exactly the files of a document (for a root-level ignore).
fn document_glob(files: &Files<'_>) -> String {
    let names: Vec<String> = files
        .files()
        .iter()
        .map(|f| {
            let mut out = String::with_capacity(f.rel.len());
            for c in f.rel.chars() {
                match c {
                    '?' | '*' | '[' | ']' | '{' | '}' | ',' | '\\' => {
                        out.push('[');
                        out.push(c);
                        out.push(']');
                    }
                    c => out.push(c),
                }
            }
            out
        })
        .collect();
    match names.as_slice() {
        [one] => one.clone(),
        _ => format!("{{{}}}", names.join(",")),
    }
}

/// `type` (a string, or a 3.1 list) and `maxLength` of a schema.
fn schema_facts(s: &Node<'_>) -> (Vec<String>, Option<u64>) {
    let types = match s.get("type") {
        Some(t) => match &t.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|i| i.as_text().map(|t| t.into_owned()))
                .collect(),
            _ => t
                .as_text()
                .map(|t| vec![t.into_owned()])
                .unwrap_or_default(),
        },
        None => Vec::new(),
    };
    (types, s.get("maxLength").and_then(Node::as_u64))
}
