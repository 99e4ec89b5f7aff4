//! The macros accept what the gate reads, and read it the same way.
//!
//! The attribute forms are generated from the shared grammar (`idemgate_grammar`): every value
//! kind of every `#[retry_policy]` argument (each duration syntax, each jitter, named and
//! disabled budgets, …), every rule id in `#[exempt]`, every duration of `#[idempotent]`. One
//! generated program is compiled and run with trybuild against the real runtime: each policy fn
//! reports the `RetryPolicy` its expansion built. The gate's own front-end reads the same
//! source, and its reading — attempts, durations in ms, jitter, budget, breaker, exempted rules
//! and reasons, key retention — must equal what the macro expanded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use idemgate_grammar::attributes::{self, Kind};
use idemgate_grammar::{defaults, duration, rules};
use idemgate_lint::rust;
use idemgate_lint::source::{FileKind, SourceFile, SourcePath};
use idemgate_rules::model::rust::{PolicyArg, PolicyArgs};

/// One generated fn: its name and the attribute on it.
struct Form {
    name: String,
    attribute: String,
}

const PRELUDE: &str = r#"#![allow(dead_code, unused_variables)]
use idemgate::{exempt, idempotent, retry_policy};

#[derive(Debug)]
pub struct E;

impl idemgate::Retryable for E {
    fn retryability(&self) -> idemgate::Retryability {
        idemgate::Retryability::Transient
    }
}

impl From<idemgate::Error> for E {
    fn from(_: idemgate::Error) -> Self {
        E
    }
}

fn is_transient(_: &E) -> bool {
    true
}
"#;

/// Every value kind of every `#[retry_policy]` argument, one argument per form, and one form
/// with every argument at its example value.
fn policy_forms() -> Vec<Form> {
    let mut values: Vec<(&str, String)> = Vec::new();
    for arg in attributes::RETRY_POLICY.args {
        match arg.kind {
            Kind::Count { min } => {
                for n in [min, defaults::MAX_ATTEMPTS, 7] {
                    values.push((arg.name, n.to_string()));
                }
            }
            Kind::Duration => {
                for (text, _) in duration::EXAMPLES {
                    values.push((arg.name, format!("{text:?}")));
                }
            }
            Kind::Choice(words) => {
                for w in words {
                    values.push((arg.name, format!("{w:?}")));
                }
            }
            Kind::Name { disabled } => {
                values.push((arg.name, format!("\"{}_equivalence\"", arg.name)));
                if let Some(off) = disabled {
                    values.push((arg.name, format!("{off:?}")));
                }
            }
            Kind::Expr => values.push((arg.name, arg.example.into())),
            other => panic!("retry_policy argument {} of kind {other:?}", arg.name),
        }
    }
    let mut forms: Vec<Form> = values
        .into_iter()
        .enumerate()
        .map(|(i, (name, value))| Form {
            name: format!("policy_{i}"),
            attribute: format!("#[retry_policy({name} = {value})]"),
        })
        .collect();
    forms.push(Form {
        name: "policy_default".into(),
        attribute: "#[retry_policy]".into(),
    });
    let every: Vec<String> = attributes::RETRY_POLICY
        .args
        .iter()
        .map(|a| format!("{} = {}", a.name, a.example))
        .collect();
    forms.push(Form {
        name: "policy_every".into(),
        attribute: format!("#[retry_policy({})]", every.join(", ")),
    });
    forms
}

fn exempt_forms() -> Vec<Form> {
    rules::IDS
        .iter()
        .map(|id| Form {
            name: format!("exempt_{}", id.to_ascii_lowercase()),
            attribute: format!("#[exempt({id}, reason = \"equivalence of {id}\")]"),
        })
        .collect()
}

/// Every duration argument of `#[idempotent]` with every duration form; `ttl` is what the gate
/// reads (for the OpenAPI pairing), the others must compile.
fn idempotent_forms() -> Vec<(Form, Option<u64>)> {
    let mut out = Vec::new();
    for arg in attributes::IDEMPOTENT.args {
        if arg.kind != Kind::Duration {
            continue;
        }
        for (i, (text, ms)) in duration::EXAMPLES.iter().enumerate() {
            let form = Form {
                name: format!("idem_{}_{i}", arg.name),
                attribute: format!(
                    "#[idempotent(key = order_id.to_string(), {} = {text:?})]",
                    arg.name
                ),
            };
            out.push((form, (arg.name == "ttl").then_some(*ms)));
        }
    }
    out
}

/// The program: every form on a fn, and a `main` that writes what each policy's expansion
/// built (`name<TAB>Debug of its RetryPolicy`) to `out`.
fn program(
    policies: &[Form],
    exempts: &[Form],
    idempotent: &[(Form, Option<u64>)],
    out: &Path,
) -> String {
    let mut src = String::from(PRELUDE);
    for f in policies {
        // the expansion's static is in scope of the body (call-site hygiene): report it
        writeln!(
            src,
            "\n{}\nasync fn {}() -> Result<String, E> {{\n    Ok(format!(\"{{:?}}\", __IDEMGATE_POLICY))\n}}",
            f.attribute, f.name
        )
        .unwrap();
    }
    for f in exempts {
        writeln!(src, "\n{}\nfn {}() {{}}", f.attribute, f.name).unwrap();
    }
    for (f, _) in idempotent {
        writeln!(
            src,
            "\n{}\nasync fn {}(order_id: u64) -> Result<u64, E> {{\n    Ok(order_id)\n}}",
            f.attribute, f.name
        )
        .unwrap();
    }
    src.push_str(
        "\nfn main() {\n    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();\n    let mut out = String::new();\n",
    );
    for f in policies {
        writeln!(
            src,
            "    out.push_str(&format!(\"{name}\\t{{}}\\n\", rt.block_on({name}()).unwrap()));",
            name = f.name
        )
        .unwrap();
    }
    writeln!(
        src,
        "    std::fs::write({:?}, out).unwrap();\n}}",
        out.display().to_string()
    )
    .unwrap();
    src
}

/// What the gate read from a policy, rendered as the runtime's `Debug` of the policy it
/// models (an argument left out takes the runtime's default).
fn gate_policy(args: &PolicyArgs) -> String {
    let ms = |arg: &Option<PolicyArg<u64>>, default: u64| {
        Duration::from_millis(arg.as_ref().map_or(default, |a| a.value))
    };
    let jitter = args
        .jitter
        .as_ref()
        .map_or(defaults::JITTER.to_string(), |j| j.value.clone());
    let mut jitter_variant = jitter[..1].to_ascii_uppercase();
    jitter_variant.push_str(&jitter[1..]);
    let budget = match args.budget.as_ref().map(|b| b.value.as_str()) {
        None => Some(defaults::BUDGET),
        Some(b) if b == defaults::NO_BUDGET => None,
        Some(b) => Some(b),
    };
    format!(
        "RetryPolicy {{ max_attempts: {}, base: {:?}, cap: {:?}, max_elapsed: {:?}, jitter: {jitter_variant}, budget: {:?}, breaker: {:?} }}",
        args.max_attempts.as_ref().map_or(defaults::MAX_ATTEMPTS, |a| a.value),
        ms(&args.base_ms, defaults::BASE_MS),
        ms(&args.cap_ms, defaults::CAP_MS),
        Some(ms(&args.max_elapsed_ms, defaults::MAX_ELAPSED_MS)),
        budget,
        args.breaker.as_ref().map(|b| b.value.as_str()),
    )
}

/// The gate's front-end on `text` as a file of its own.
fn gate_reads(dir: &Path, text: &str) -> rust::RustFile {
    let abs = dir.join("equivalence.rs");
    std::fs::write(&abs, text).unwrap();
    let file = SourceFile {
        path: SourcePath {
            rel: "equivalence.rs".into(),
            abs,
            kind: FileKind::Rust,
            explicit: true,
        },
        text: text.to_string(),
    };
    match rust::parse(&file, true) {
        Ok(parsed) => parsed,
        Err(e) => panic!("the gate cannot parse the generated program: {}", e.message),
    }
}

#[test]
fn the_macros_expand_what_the_gate_reads() {
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_forms();
    let exempts = exempt_forms();
    let idempotent = idempotent_forms();
    let out = dir.path().join("expanded.tsv");
    let src = program(&policies, &exempts, &idempotent, &out);
    let main = dir.path().join("equivalence_main.rs");
    std::fs::write(&main, &src).unwrap();

    // the macros: every form compiles, and the program reports each policy it built
    let cases = trybuild::TestCases::new();
    cases.pass(&main);
    drop(cases);
    let expanded: BTreeMap<String, String> = std::fs::read_to_string(&out)
        .unwrap_or_else(|e| panic!("the generated program wrote no {}: {e}", out.display()))
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, d)| (n.to_string(), d.to_string()))
        .collect();
    assert_eq!(expanded.len(), policies.len(), "every policy ran");

    // the gate, on the same source
    let read = gate_reads(dir.path(), &src);
    let gate: BTreeMap<String, String> = read
        .policies()
        .map(|(path, args)| {
            let name = path.rsplit("::").next().unwrap_or(path).to_string();
            (name, gate_policy(args))
        })
        .collect();
    let mut differences = Vec::new();
    for form in &policies {
        let macro_side = expanded.get(&form.name);
        let gate_side = gate.get(&form.name);
        if macro_side != gate_side {
            differences.push(format!(
                "{}\n  macro: {macro_side:?}\n  gate:  {gate_side:?}",
                form.attribute
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "the gate reads policies otherwise than the macro expands them:\n{}",
        differences.join("\n")
    );

    // exemptions: every rule id of the catalog compiles, and the gate reads the rule and reason
    let exemptions: Vec<(String, Option<String>)> = read
        .exemptions()
        .iter()
        .map(|e| (e.rule.clone(), e.reason.clone()))
        .collect();
    for id in rules::IDS {
        let want = (id.to_string(), Some(format!("equivalence of {id}")));
        assert!(
            exemptions.contains(&want),
            "the gate does not read #[exempt({id}, …)]: {exemptions:?}"
        );
    }
    assert_eq!(exemptions.len(), rules::IDS.len(), "{exemptions:?}");

    // #[idempotent]: every duration form compiled; the gate reads the same retention
    let ttls: Vec<Option<u64>> = read
        .idempotent_fns()
        .iter()
        .map(|f| f.ttl.as_ref().and_then(|t| t.seconds))
        .collect();
    let want: Vec<Option<u64>> = idempotent
        .iter()
        .map(|(_, ms)| ms.map(|ms| ms / 1_000))
        .collect();
    assert_eq!(
        ttls, want,
        "retention the gate reads, per #[idempotent] in order"
    );
}

#[test]
fn durations_the_macros_refuse_the_gate_does_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut src = String::new();
    for (i, bad) in duration::REFUSED.iter().enumerate() {
        writeln!(
            src,
            "#[retry_policy(base = {bad:?})]\nasync fn refused_{i}() {{}}"
        )
        .unwrap();
    }
    let read = gate_reads(dir.path(), &src);
    let read_any: Vec<String> = read
        .policies()
        .filter(|(_, a)| a.base_ms.is_some())
        .map(|(p, a)| format!("{p}: {:?}", a.base_ms.as_ref().map(|b| b.value)))
        .collect();
    assert_eq!(read_any, Vec::<String>::new());
    assert_eq!(read.policies().count(), duration::REFUSED.len());
}
