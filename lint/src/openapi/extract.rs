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

pub fn extract(files: &Files<'_>, version: SpecVersion, diag: &mut Diagnostics) -> Extracted {
    let mut w = Walker {
        files,
        diag,
        version,
        exemptions: Vec::new(),
    };
    let root = files.root();
    let root_decl = root
        .node
        .entry("x-idempotency")
        .map(|e| w.declared(0, e, StrategyLevel::Document));
    if let Some(e) = root.node.entry("x-idemgate-ignore") {
        // The whole root file.
        w.ignores(0, &e.value, 0, u32::MAX);
    }
    let mut operations = Vec::new();
    for (section, is_webhook) in [("paths", false), ("webhooks", true)] {
        let Some(paths) = root.node.get(section) else {
            continue;
        };
        for item in paths.entries() {
            if item.key.starts_with("x-") {
                continue;
            }
            let at = At {
                file: 0,
                node: &item.value,
                key: Some((item.key_start, item.key_end)),
            };
            let Some(resolved) = w.files.deref(at, w.diag) else {
                continue;
            };
            w.path_item(
                &item.key,
                resolved,
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

    fn declared(&mut self, file: usize, e: &Entry<'_>, level: StrategyLevel) -> Declared {
        let location = self.key_loc(file, e);
        let node = &e.value;
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

    /// `x-idemgate-ignore: [{rule, reason}]` (or `[RULE]`, or one mapping) covering the bytes
    /// `start..end` of `file`, as whole lines.
    fn ignores(&mut self, file: usize, node: &Node<'_>, start: u32, end: u32) {
        let items: Vec<&Node<'_>> = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let (first, last) = if end == u32::MAX {
            (1, u32::MAX)
        } else {
            let l = self.loc(file, start, end);
            (l.line, l.end_line)
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
                scope: ExemptionScope::Lines {
                    file: self.files.rel(file),
                    start: first,
                    end: last,
                },
                report_unused: true,
            });
        }
    }

    fn path_item(
        &mut self,
        path: &str,
        item: At<'f, 'a>,
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
            self.ignores(file, &e.value, node.start, node.end);
        }
        let path_params = node.get("parameters");
        for m in node.entries() {
            let method = m.key.to_ascii_lowercase();
            if !METHODS.contains(&method.as_str()) || !m.value.is_map() {
                continue;
            }
            let op = self.operation(
                path,
                &method,
                file,
                m,
                path_params,
                is_webhook,
                [None, item_decl.as_ref(), root_decl],
            );
            out.push(op);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &mut self,
        path: &str,
        method: &str,
        file: usize,
        m: &'f Entry<'a>,
        path_params: Option<&'f Node<'a>>,
        is_webhook: bool,
        inherited: [Option<&Declared>; 3],
    ) -> Operation {
        let node = &m.value;
        let location = self.key_loc(file, m);
        let op_lines = self.loc(file, m.key_start, node.end);
        let mut op = Operation {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            operation_id: node
                .get("operationId")
                .and_then(|n| n.as_text())
                .map(|t| t.into_owned()),
            location: location.clone(),
            responses_location: node.entry("responses").map(|e| self.key_loc(file, e)),
            is_webhook,
            version: self.version,
            key_headers: Vec::new(),
            body_key: None,
            strategy: None,
            responses: Vec::new(),
            unresolved_refs: Vec::new(),
        };
        if let Some(e) = node.entry("x-idemgate-ignore") {
            self.ignores(file, &e.value, m.key_start, node.end);
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
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let lists = [(node.get("parameters"), false), (path_params, true)];
        for (list, path_level) in lists {
            let Some(list) = list else { continue };
            for p in list.items() {
                let raw = At {
                    file,
                    node: p,
                    key: None,
                };
                let Some((param, definition)) = self.files.deref_named(raw, self.diag) else {
                    op.unresolved_refs.push(self.node_loc(file, p));
                    continue;
                };
                let via = p.ref_target().and_then(|(_, e)| {
                    let at = self.loc(file, e.value.start, e.value.end);
                    definition.map(|d| (d, at))
                });
                let name = param.node.get("name").and_then(|n| n.as_text());
                let place = param.node.get("in").and_then(|n| n.as_text());
                let (Some(name), Some(place)) = (name, place) else {
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
                    "formdata" if op.body_key.is_none() && is_body_key_name(&name) => {
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
                let raw = At {
                    file,
                    node: body,
                    key: None,
                };
                match self.files.deref(raw, self.diag) {
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

        // Responses.
        if let Some(responses) = node.get("responses") {
            for r in responses.entries() {
                if r.key.starts_with("x-") {
                    continue;
                }
                let code_loc = self.key_loc(file, r);
                if let Some(e) = r.value.entry("x-idemgate-ignore") {
                    self.ignores(file, &e.value, r.key_start, r.value.end);
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
                };
                match resolved {
                    Some((def, is_ref)) => {
                        response.has_retry_after = def.node.get("headers").is_some_and(|h| {
                            h.entries()
                                .iter()
                                .any(|e| e.key.trim().eq_ignore_ascii_case("retry-after"))
                        });
                        if is_ref.is_some() {
                            let (ks, ke) = def.key.unwrap_or((def.node.start, def.node.start));
                            response.definition = Some(self.loc(def.file, ks, ke));
                            response.definition_pointer = is_ref;
                            if let Some(e) = def.node.entry("x-idemgate-ignore") {
                                self.ignores(def.file, &e.value, ks, def.node.end);
                            }
                        }
                    }
                    None => op.unresolved_refs.push(self.node_loc(file, &r.value)),
                }
                op.responses.push(response);
            }
        }
        op
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
                if let Some(e) = props.entries().iter().find(|e| is_body_key_name(&e.key)) {
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

fn is_body_key_name(name: &str) -> bool {
    matches!(
        name,
        "idempotency_key" | "idempotencyKey" | "IdempotencyKey"
    )
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
