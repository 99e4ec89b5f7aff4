//! Code and spec as one contract: pairs each OpenAPI document with the Rust code that serves it
//! (`[[contracts]]` in the config, else the crate whose folder holds the spec) and matches the
//! spec's operations to the code's routes by method and normalized path template. The result
//! goes into `model.contracts`, which the SPEC rules read.
//!
//! Matching is linear in routes + operations: one hash map of the operations per contract,
//! one lookup per route.

pub mod template;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use idemgate_rules::model::contract::{Contract, ContractModel, Match, PairingOrigin, Unmatched};
use idemgate_rules::model::openapi::SpecVersion;
use idemgate_rules::{Location, Model};

use crate::openapi::tree::Node;

/// A `[[contracts]]` entry of the config, its paths made relative to the scan root.
#[derive(Debug, Clone)]
pub struct ContractEntry {
    /// The spec's root file.
    pub spec: Arc<str>,
    /// The folders (or files) of the code that serves it.
    pub code: Vec<String>,
    /// `base-path`: overrides the spec's `servers` prefix.
    pub base_path: Option<String>,
    /// The entry in the config file.
    pub location: Location,
}

/// The path prefix of a spec: the path of its first `servers` URL (variables replaced by their
/// defaults), or 2.0's `basePath`. `None` for no prefix (`/`, or no servers).
pub(crate) fn spec_base_path(root: &Node<'_>, version: SpecVersion) -> Option<String> {
    let path = if version == SpecVersion::Swagger2 {
        root.get("basePath")?.as_str()?.to_string()
    } else {
        let server = root.get("servers")?.items().first()?;
        let mut url = server.get("url")?.as_str()?.to_string();
        if let Some(vars) = server.get("variables") {
            for e in vars.entries() {
                if let Some(d) = e.value.get("default").and_then(|d| d.as_text()) {
                    url = url.replace(&format!("{{{}}}", e.key), &d);
                }
            }
        }
        url_path(&url).to_string()
    };
    let n = template::normalize(&path);
    (n != "/").then_some(n)
}

/// The path part of a server URL: `https://h:8080/v1?x` → `/v1`; `/v1` and `v1` as given.
fn url_path(url: &str) -> &str {
    let url = url.split(['?', '#']).next().unwrap_or("");
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            rest.find('/').map_or("", |j| &rest[j..])
        }
        None => url,
    }
}

/// The folder of the package whose `Cargo.toml` is nearest above `dir` (a workspace-only
/// manifest pairs nothing), cached per folder.
fn package_of(dir: &Path, cache: &mut HashMap<PathBuf, Option<PathBuf>>) -> Option<PathBuf> {
    let mut walked = Vec::new();
    let mut cur = Some(dir);
    let mut found = None;
    while let Some(d) = cur {
        if let Some(hit) = cache.get(d) {
            found = hit.clone();
            break;
        }
        walked.push(d.to_path_buf());
        let manifest = d.join("Cargo.toml");
        if manifest.is_file() {
            let text = std::fs::read_to_string(&manifest).unwrap_or_default();
            let is_package = text.lines().any(|l| l.trim() == "[package]");
            found = is_package.then(|| d.to_path_buf());
            break;
        }
        cur = d.parent();
    }
    for d in walked {
        cache.insert(d, found.clone());
    }
    found
}

/// Whether `file` (root-relative) lies in `code` (a root-relative folder or file).
fn within(file: &str, code: &str) -> bool {
    code.is_empty()
        || file == code
        || (file.len() > code.len()
            && file.starts_with(code)
            && file.as_bytes().get(code.len()) == Some(&b'/'))
}

/// A spec operation a route serves (for `idemgate routes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedOperation {
    pub method: String,
    /// The path as the spec writes it.
    pub path: String,
    pub operation_id: Option<String>,
    /// Where the operation is written.
    pub location: Location,
}

/// For each route of `model.rust.routes` (same order), the operations it serves.
pub fn served_operations(model: &Model) -> Vec<Vec<ServedOperation>> {
    let mut out = vec![Vec::new(); model.rust.routes.len()];
    for m in &model.contracts.matches {
        let (Some(slot), Some(op)) = (
            out.get_mut(m.route),
            model.openapi.operations.get(m.operation),
        ) else {
            continue;
        };
        slot.push(ServedOperation {
            method: op.method.clone(),
            path: op.path.clone(),
            operation_id: op.operation_id.clone(),
            location: op.location.clone(),
        });
    }
    out
}

/// `paths` and the spec of every `[[contracts]]` entry whose code the scan covers but whose
/// spec it does not: `idemgate check crates/api` reads `api/openapi.yaml` too, so the pair is
/// checked whichever half is named.
pub fn with_specs(paths: &[PathBuf], entries: &[ContractEntry], root: &Path) -> Vec<PathBuf> {
    let mut out = paths.to_vec();
    let root = crate::discover::absolute(root);
    let scanned: Vec<PathBuf> = paths.iter().map(|p| crate::discover::absolute(p)).collect();
    for e in entries {
        let spec = root.join(&*e.spec);
        if scanned.iter().any(|p| spec.starts_with(p)) || out.contains(&spec) {
            continue;
        }
        let covered = e.code.iter().any(|c| {
            let code = root.join(c);
            scanned
                .iter()
                .any(|p| code.starts_with(p) || p.starts_with(&code))
        });
        if covered && spec.is_file() {
            out.push(spec);
        }
    }
    out
}

/// Pairs specs with code and matches operations to routes, filling `model.contracts`.
pub fn link(entries: &[ContractEntry], root: &Path, model: &mut Model) {
    let root = crate::discover::absolute(root);
    let docs = &model.openapi.documents;
    let mut contracts: Vec<(Contract, std::ops::Range<usize>)> = Vec::new();
    let mut claimed = vec![false; docs.len()];
    for e in entries {
        for (i, d) in docs.iter().enumerate() {
            if *d.file != *e.spec {
                continue;
            }
            claimed[i] = true;
            let base = e.base_path.clone().or_else(|| d.base_path.clone());
            contracts.push((
                Contract {
                    spec: d.file.clone(),
                    code: e.code.clone(),
                    base_path: base.unwrap_or_default(),
                    origin: PairingOrigin::Config(e.location.clone()),
                },
                d.operations.clone(),
            ));
        }
    }
    let mut cache = HashMap::new();
    for (i, d) in docs.iter().enumerate() {
        if claimed[i] {
            continue;
        }
        let abs = root.join(&*d.file);
        let Some(dir) = abs.parent() else {
            continue;
        };
        let Some(pkg) = package_of(dir, &mut cache) else {
            continue;
        };
        let code = crate::source::relative(&root, &pkg).to_string();
        contracts.push((
            Contract {
                spec: d.file.clone(),
                code: vec![code],
                base_path: d.base_path.clone().unwrap_or_default(),
                origin: PairingOrigin::Implicit,
            },
            d.operations.clone(),
        ));
    }
    if contracts.is_empty() {
        return;
    }
    let mut out = ContractModel::default();
    let ops = &model.openapi.operations;
    let routes = &model.rust.routes;
    // which contracts each route's code belongs to
    let mut route_contracts: Vec<Vec<usize>> = vec![Vec::new(); routes.len()];
    for (r, route) in routes.iter().enumerate() {
        for (c, (contract, _)) in contracts.iter().enumerate() {
            if contract
                .code
                .iter()
                .any(|code| within(&route.registration.file, code))
            {
                route_contracts[r].push(c);
            }
        }
    }
    // a crate that registers no route at all and holds a spec (a client generated from it, a
    // spec kept for reference) does not serve it: implicit pairing reports nothing there
    let mut serves = vec![false; contracts.len()];
    for cs in &route_contracts {
        for &c in cs {
            serves[c] = true;
        }
    }
    let mut op_matched = vec![false; ops.len()];
    let mut route_matched = vec![false; routes.len()];
    for (c, (contract, range)) in contracts.iter().enumerate() {
        // (METHOD, normalized path) → operations; and path → operations for `ANY` routes
        let mut by_key: HashMap<(&str, String), Vec<usize>> = HashMap::new();
        let mut by_path: HashMap<String, Vec<usize>> = HashMap::new();
        for o in range.clone() {
            let Some(op) = ops.get(o) else {
                continue;
            };
            if op.is_webhook {
                continue;
            }
            let path = template::join(&contract.base_path, &op.path);
            by_path.entry(path.clone()).or_default().push(o);
            by_key
                .entry((op.method.as_str(), path))
                .or_default()
                .push(o);
        }
        for (r, route) in routes.iter().enumerate() {
            if !route_contracts[r].contains(&c) {
                continue;
            }
            let Some(path) = &route.path else {
                continue;
            };
            let path = template::normalize(path);
            let hits: Vec<usize> = if route.method == "ANY" {
                by_path.get(&path).cloned().unwrap_or_default()
            } else {
                let mut hits = by_key
                    .get(&(route.method.as_str(), path.clone()))
                    .cloned()
                    .unwrap_or_default();
                // a GET route answers HEAD too (axum, actix-web and poem all do)
                if route.method == "GET" {
                    hits.extend(by_key.get(&("HEAD", path)).into_iter().flatten());
                }
                hits
            };
            for o in hits {
                route_matched[r] = true;
                op_matched[o] = true;
                out.matches.push(Match {
                    contract: c,
                    route: r,
                    operation: o,
                });
            }
        }
        if contract.origin == PairingOrigin::Implicit && !serves[c] {
            continue;
        }
        for o in range.clone() {
            if ops.get(o).is_some_and(|op| !op.is_webhook) && !op_matched[o] {
                out.unmatched_operations.push(Unmatched {
                    contract: c,
                    index: o,
                });
            }
        }
    }
    for (r, route) in routes.iter().enumerate() {
        if route_matched[r] || route.path.is_none() {
            continue;
        }
        if let Some(&c) = route_contracts[r].first() {
            out.unmatched_routes.push(Unmatched {
                contract: c,
                index: r,
            });
        }
    }
    out.contracts = contracts.into_iter().map(|(c, _)| c).collect();
    model.contracts = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_url_paths() {
        assert_eq!(url_path("https://api.example.com/v1"), "/v1");
        assert_eq!(url_path("https://api.example.com"), "");
        assert_eq!(url_path("http://localhost:8080/api/v2/?x=1"), "/api/v2/");
        assert_eq!(url_path("/v1"), "/v1");
    }

    #[test]
    fn code_folders() {
        assert!(within("crates/api/src/lib.rs", "crates/api"));
        assert!(within("crates/api/src/lib.rs", ""));
        assert!(!within("crates/api2/src/lib.rs", "crates/api"));
        assert!(within("src/main.rs", "src/main.rs"));
    }
}
