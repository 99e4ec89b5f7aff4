//! `xtask real-check`: score the gate on a corpus of real services against hand-judged truth.
//!
//! ```text
//! cargo run -p xtask --release -- real-check CORPUS_DIR [--gate target/release/idemgate]
//!     [--tests-real tests/real] [--timeout 300] [--runs 1] [--only NAME[,NAME]] [--verbose]
//!     [--todo FILE]
//! ```
//!
//! For every service of `tests/real/corpus.tsv` found as `CORPUS_DIR/<name>`, it runs
//! `idemgate check <dir> --isolated --format json --fail-level info` and
//! `idemgate routes <dir> --isolated --format json` (both from inside the service folder, so
//! paths come back relative to it), times them, and prints per service: size, speed, findings per
//! rule, IDEM001/GATE002 precision against `verdicts.tsv`, route recall against `routes.tsv`
//! (restricted to the files of `judged_files.tsv`) and expectation agreement. A run that exceeds
//! `--timeout` is killed and counted as a hang; any hang makes the command exit 1. `--runs N`
//! times `check` N times and keeps the best (the machine may be shared). `--todo FILE` writes the
//! unjudged findings as `verdicts.tsv` lines with an empty verdict, ready to be judged.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// The rules whose findings are judged (the route rules).
pub const JUDGED_RULES: [&str; 2] = ["IDEM001", "GATE002"];

// ---------------------------------------------------------------------------------------------
// Inputs: the TSV files of tests/real
// ---------------------------------------------------------------------------------------------

/// One line of `corpus.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub repo: String,
    pub commit: String,
    pub framework: String,
    pub notes: String,
}

/// What a ground-truth route is expected to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No idempotency strategy: IDEM001 expected.
    Missing,
    /// Covered by a layer/middleware/attribute: no IDEM001 expected.
    Declared,
    /// Not statically resolvable: GATE002 expected.
    Gate002,
}

impl Expect {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "missing" => Some(Self::Missing),
            "declared" => Some(Self::Declared),
            "gate002" => Some(Self::Gate002),
            _ => None,
        }
    }
}

/// One line of `routes.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthRoute {
    pub name: String,
    pub file: String,
    pub line: u32,
    pub method: String,
    pub path: String,
    pub expect: Expect,
    pub note: String,
}

/// A hand verdict on one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Tp,
    Fp,
}

/// The verdicts of `verdicts.tsv`, keyed by (service, file, line, rule).
pub type Verdicts = HashMap<(String, String, u32, String), Verdict>;

/// The judged-file globs of `judged_files.tsv`, per service. A service without any line is
/// judged completely.
pub type Judged = HashMap<String, Vec<String>>;

/// The data lines of a TSV file: header (first line), blank lines and `#` comments skipped.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.split('\t').collect()))
}

fn field<'a>(cols: &[&'a str], i: usize, what: &str, line: usize) -> Result<&'a str, String> {
    cols.get(i)
        .map(|s| s.trim())
        .ok_or_else(|| format!("line {line}: missing column {what}"))
}

pub fn parse_corpus(text: &str) -> Result<Vec<Service>, String> {
    data_lines(text)
        .map(|(n, c)| {
            Ok(Service {
                name: field(&c, 0, "name", n)?.to_owned(),
                repo: field(&c, 1, "repo", n)?.to_owned(),
                commit: field(&c, 2, "commit", n)?.to_owned(),
                framework: field(&c, 3, "framework", n)?.to_owned(),
                notes: c.get(4).unwrap_or(&"").trim().to_owned(),
            })
        })
        .collect()
}

pub fn parse_routes(text: &str) -> Result<Vec<TruthRoute>, String> {
    data_lines(text)
        .map(|(n, c)| {
            let line = field(&c, 2, "line", n)?;
            let expect = field(&c, 5, "expect", n)?;
            Ok(TruthRoute {
                name: field(&c, 0, "name", n)?.to_owned(),
                file: field(&c, 1, "file", n)?.to_owned(),
                line: line
                    .parse()
                    .map_err(|_| format!("line {n}: bad line number {line:?}"))?,
                method: field(&c, 3, "method", n)?.to_owned(),
                path: field(&c, 4, "path", n)?.to_owned(),
                expect: Expect::parse(expect)
                    .ok_or_else(|| format!("line {n}: bad expect {expect:?}"))?,
                note: c.get(6).unwrap_or(&"").trim().to_owned(),
            })
        })
        .collect()
}

pub fn parse_verdicts(text: &str) -> Result<Verdicts, String> {
    let mut out = Verdicts::new();
    for (n, c) in data_lines(text) {
        let line = field(&c, 2, "line", n)?;
        let line: u32 = line
            .parse()
            .map_err(|_| format!("line {n}: bad line number {line:?}"))?;
        let verdict = match field(&c, 4, "verdict", n)? {
            "tp" => Verdict::Tp,
            "fp" => Verdict::Fp,
            other => return Err(format!("line {n}: bad verdict {other:?} (tp or fp)")),
        };
        out.insert(
            (
                field(&c, 0, "name", n)?.to_owned(),
                field(&c, 1, "file", n)?.to_owned(),
                line,
                field(&c, 3, "rule", n)?.to_owned(),
            ),
            verdict,
        );
    }
    Ok(out)
}

/// IDEM001 verdicts whose handler only reads, validates, echoes or computes (`read-only` starts
/// the reason): such a finding is not a failed build's worth, so at error level it counts as
/// false. Keyed by (service, file, line).
pub type ReadOnly = std::collections::HashSet<(String, String, u32)>;

pub fn parse_read_only(text: &str) -> ReadOnly {
    data_lines(text)
        .filter(|(_, c)| {
            c.get(3).is_some_and(|r| r.trim() == "IDEM001")
                && c.get(5).is_some_and(|r| r.trim().starts_with("read-only"))
        })
        .filter_map(|(_, c)| {
            let line = c.get(2)?.trim().parse().ok()?;
            Some((c[0].trim().to_owned(), c[1].trim().to_owned(), line))
        })
        .collect()
}

/// Where the gate reported IDEM001 at error level: (file, line), from the check JSON.
pub fn idem001_errors(json: &str, base: &Path) -> std::collections::HashSet<(String, u32)> {
    #[derive(Deserialize)]
    struct Leveled {
        rule: String,
        file: String,
        line: u32,
        #[serde(default)]
        severity: String,
    }
    #[derive(Deserialize)]
    struct Leveleds {
        findings: Vec<Leveled>,
    }
    serde_json::from_str::<Leveleds>(json)
        .map(|r| {
            r.findings
                .into_iter()
                .filter(|f| f.rule == "IDEM001" && f.severity == "error")
                .map(|f| (normalize(&f.file, base), f.line))
                .collect()
        })
        .unwrap_or_default()
}

/// IDEM001 precision at error level with read-only handlers counted false: an error-level
/// finding is right only when its verdict is `tp` and its handler is not read-only.
pub fn idem001_error_precision(
    name: &str,
    findings: &[Finding],
    errors: &std::collections::HashSet<(String, u32)>,
    verdicts: &Verdicts,
    read_only: &ReadOnly,
) -> Precision {
    let mut p = Precision::default();
    for f in findings
        .iter()
        .filter(|f| f.rule == "IDEM001" && errors.contains(&(f.file.clone(), f.line)))
    {
        let key = (name.to_owned(), f.file.clone(), f.line, f.rule.clone());
        match verdicts.get(&key) {
            Some(Verdict::Tp)
                if !read_only.contains(&(name.to_owned(), f.file.clone(), f.line)) =>
            {
                p.tp += 1
            }
            Some(_) => p.fp += 1,
            None => p.unjudged += 1,
        }
    }
    p
}

pub fn parse_judged(text: &str) -> Result<Judged, String> {
    let mut out = Judged::new();
    for (n, c) in data_lines(text) {
        out.entry(field(&c, 0, "name", n)?.to_owned())
            .or_default()
            .push(field(&c, 1, "file_glob", n)?.to_owned());
    }
    Ok(out)
}

/// A small glob: `**` matches any run of characters (across `/`), `*` any run without `/`,
/// `?` one character other than `/`; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some(b'*') if p.get(1) == Some(&b'*') => {
                // `**/` also matches zero folders
                let rest = &p[2..];
                if rest.first() == Some(&b'/') && go(&rest[1..], t) {
                    return true;
                }
                (0..=t.len()).any(|i| go(rest, &t[i..]))
            }
            Some(b'*') => {
                let rest = &p[1..];
                for i in 0..=t.len() {
                    if go(rest, &t[i..]) {
                        return true;
                    }
                    if t.get(i) == Some(&b'/') {
                        break;
                    }
                }
                false
            }
            Some(b'?') => t.first().is_some_and(|&c| c != b'/') && go(&p[1..], &t[1..]),
            Some(&c) => t.first() == Some(&c) && go(&p[1..], &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

fn is_judged(judged: &Judged, name: &str, file: &str) -> bool {
    match judged.get(name) {
        None => true,
        Some(globs) => globs.iter().any(|g| glob_match(g, file)),
    }
}

// ---------------------------------------------------------------------------------------------
// The gate's JSON
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Loc {
    pub file: String,
    pub line: u32,
    #[serde(default)]
    pub end_line: Option<u32>,
}

impl Loc {
    /// Whether this location's line range covers `line` of `file`.
    pub fn covers(&self, file: &str, line: u32) -> bool {
        let end = self.end_line.unwrap_or(self.line).max(self.line);
        self.file == file && self.line <= line && line <= end
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Finding {
    pub rule: String,
    #[serde(default)]
    pub message: String,
    pub file: String,
    pub line: u32,
    #[serde(default)]
    pub end_line: Option<u32>,
    #[serde(default)]
    pub related: Vec<Loc>,
}

impl Finding {
    fn primary(&self) -> Loc {
        Loc {
            file: self.file.clone(),
            line: self.line,
            end_line: self.end_line,
        }
    }

    /// Whether the primary or a related location covers `line` of `file`.
    pub fn covers(&self, file: &str, line: u32) -> bool {
        self.primary().covers(file, line) || self.related.iter().any(|r| r.covers(file, line))
    }
}

#[derive(Debug, Deserialize)]
struct Report {
    #[serde(default)]
    findings: Vec<Finding>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InvRoute {
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub path: Option<String>,
    pub file: String,
    pub line: u32,
    #[serde(default)]
    pub end_line: Option<u32>,
    #[serde(default)]
    pub status: String,
    /// where the handler `fn` is (where its IDEM001 is reported)
    #[serde(default)]
    pub handler_file: Option<String>,
    #[serde(default)]
    pub handler_line: Option<u32>,
}

/// A route path reduced to what every framework agrees on: parameters (`{id}`, `{*rest}`,
/// `:id`, `<id>`, `<rest..>`) become `{}`, a query part (rocket's `?<q>`) and a trailing `/`
/// (except the root) are dropped.
pub fn normalize_route_path(path: &str) -> String {
    let path = path.split('?').next().unwrap_or("");
    let mut out = Vec::new();
    for seg in path.split('/') {
        let param = (seg.starts_with('{') && seg.ends_with('}'))
            || (seg.starts_with('<') && seg.ends_with('>'))
            || seg.starts_with(':');
        out.push(if param { "{}" } else { seg });
    }
    let mut s = out.join("/");
    while s.len() > 1 && s.ends_with('/') {
        s.pop();
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

impl InvRoute {
    /// Whether this inventory route stands for a `method` route whose registration covers
    /// `line` of `file`. A route of another standard method (a `get(a)` next to `.post(b)` on
    /// the same lines) does not count; an any-method route (`*`, `ANY`, ...) does.
    pub fn covers(&self, method: &str, file: &str, line: u32) -> bool {
        const STANDARD: [&str; 9] = [
            "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE", "CONNECT", "POST", "PATCH",
        ];
        let m = self.method.to_ascii_uppercase();
        let same_method = m == method.to_ascii_uppercase() || !STANDARD.contains(&m.as_str());
        same_method
            && Loc {
                file: self.file.clone(),
                line: self.line,
                end_line: self.end_line,
            }
            .covers(file, line)
    }
}

#[derive(Debug, Deserialize)]
struct Inventory {
    #[serde(default)]
    routes: Vec<InvRoute>,
}

/// Make a reported path relative to the service folder, `/`-separated, without `./`.
pub fn normalize(path: &str, base: &Path) -> String {
    let p = Path::new(path);
    let rel = if p.is_absolute() {
        p.strip_prefix(base).unwrap_or(p)
    } else {
        p
    };
    let s = rel.to_string_lossy().replace('\\', "/");
    let mut s = s.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.to_owned()
}

pub fn parse_findings(json: &str, base: &Path) -> Result<Vec<Finding>, String> {
    let report: Report = serde_json::from_str(json).map_err(|e| format!("check JSON: {e}"))?;
    Ok(report
        .findings
        .into_iter()
        .map(|mut f| {
            f.file = normalize(&f.file, base);
            for r in &mut f.related {
                r.file = normalize(&r.file, base);
            }
            f
        })
        .collect())
}

pub fn parse_inventory(json: &str, base: &Path) -> Result<Vec<InvRoute>, String> {
    let inv: Inventory = serde_json::from_str(json).map_err(|e| format!("routes JSON: {e}"))?;
    Ok(inv
        .routes
        .into_iter()
        .map(|mut r| {
            r.file = normalize(&r.file, base);
            r.handler_file = r.handler_file.map(|f| normalize(&f, base));
            r
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Scoring
// ---------------------------------------------------------------------------------------------

/// Precision counts for one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Precision {
    pub tp: usize,
    pub fp: usize,
    pub unjudged: usize,
}

impl Precision {
    pub fn judged(&self) -> usize {
        self.tp + self.fp
    }
    /// tp / judged, or `None` with nothing judged.
    pub fn ratio(&self) -> Option<f64> {
        (self.judged() > 0).then(|| self.tp as f64 / self.judged() as f64)
    }
    fn add(&mut self, o: &Self) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.unjudged += o.unjudged;
    }
}

/// Recall and expectation agreement over the judged ground-truth routes of one service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recall {
    pub total: usize,
    pub matched: usize,
    /// matched only through the `routes` inventory (no finding covers it)
    pub by_inventory_only: usize,
    pub agree: usize,
    /// truth routes whose inventory entry has a path
    pub paths_compared: usize,
    /// ... and that path equals the truth's (after `normalize_route_path`)
    pub paths_right: usize,
}

impl Recall {
    fn add(&mut self, o: &Self) {
        self.total += o.total;
        self.matched += o.matched;
        self.by_inventory_only += o.by_inventory_only;
        self.agree += o.agree;
        self.paths_compared += o.paths_compared;
        self.paths_right += o.paths_right;
    }
}

/// The score of one service from its findings and inventory.
#[derive(Debug, Default)]
pub struct Score {
    pub per_rule: BTreeMap<String, usize>,
    pub precision: BTreeMap<String, Precision>,
    pub recall: Recall,
    pub unjudged: Vec<Finding>,
    pub missed: Vec<TruthRoute>,
    pub disagree: Vec<TruthRoute>,
    /// truth routes whose inventory path differs, with the inventory's paths
    pub wrong_paths: Vec<(TruthRoute, Vec<String>)>,
}

pub fn score(
    name: &str,
    findings: &[Finding],
    inventory: &[InvRoute],
    truth: &[TruthRoute],
    verdicts: &Verdicts,
    judged: &Judged,
) -> Score {
    let mut s = Score::default();
    for r in JUDGED_RULES {
        s.precision.insert(r.to_owned(), Precision::default());
    }
    for f in findings {
        *s.per_rule.entry(f.rule.clone()).or_default() += 1;
        let Some(p) = s.precision.get_mut(&f.rule) else {
            continue;
        };
        let key = (name.to_owned(), f.file.clone(), f.line, f.rule.clone());
        match verdicts.get(&key) {
            Some(Verdict::Tp) => p.tp += 1,
            Some(Verdict::Fp) => p.fp += 1,
            None => {
                p.unjudged += 1;
                s.unjudged.push(f.clone());
            }
        }
    }
    let route_findings: Vec<&Finding> = findings
        .iter()
        .filter(|f| JUDGED_RULES.contains(&f.rule.as_str()))
        .collect();
    for t in truth
        .iter()
        .filter(|t| t.name == name && is_judged(judged, name, &t.file))
    {
        s.recall.total += 1;
        let covering: Vec<&&Finding> = route_findings
            .iter()
            .filter(|f| f.covers(&t.file, t.line))
            .collect();
        let inv: Vec<&InvRoute> = inventory
            .iter()
            .filter(|r| r.covers(&t.method, &t.file, t.line))
            .collect();
        let by_inventory = !inv.is_empty();
        let paths: Vec<&String> = inv.iter().filter_map(|r| r.path.as_ref()).collect();
        if !paths.is_empty() {
            s.recall.paths_compared += 1;
            let want = normalize_route_path(&t.path);
            if paths.iter().any(|p| normalize_route_path(p) == want) {
                s.recall.paths_right += 1;
            } else {
                s.wrong_paths
                    .push((t.clone(), paths.iter().map(|p| (*p).clone()).collect()));
            }
        }
        if !covering.is_empty() || by_inventory {
            s.recall.matched += 1;
            if covering.is_empty() {
                s.recall.by_inventory_only += 1;
            }
        } else {
            s.missed.push(t.clone());
        }
        // an IDEM001 belongs to this route when it covers the registration, or when it is
        // reported at the handler `fn` the inventory names for this route
        let idem = covering.iter().any(|f| f.rule == "IDEM001")
            || inv.iter().any(|r| {
                let (Some(hf), Some(hl)) = (&r.handler_file, r.handler_line) else {
                    return false;
                };
                route_findings
                    .iter()
                    .any(|f| f.rule == "IDEM001" && &f.file == hf && f.line == hl)
            });
        let gate = covering.iter().any(|f| f.rule == "GATE002")
            || inventory
                .iter()
                .any(|r| r.covers(&t.method, &t.file, t.line) && r.status == "unresolved");
        let agree = match t.expect {
            Expect::Missing => idem,
            Expect::Declared => !idem,
            Expect::Gate002 => gate,
        };
        if agree {
            s.recall.agree += 1;
        } else {
            s.disagree.push(t.clone());
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Running the gate
// ---------------------------------------------------------------------------------------------

/// How one gate run ended.
#[derive(Debug)]
pub enum RunEnd {
    /// Exit code and stdout.
    Exited(Option<i32>, String),
    /// Killed after the timeout.
    Hung,
}

/// `idemgate check` of the current folder as the scoring tasks run it: no outer config,
/// JSON, every finding down to info.
pub(crate) const CHECK_ARGS: [&str; 7] = [
    "check",
    ".",
    "--isolated",
    "--format",
    "json",
    "--fail-level",
    "info",
];

pub(crate) fn run_gate(
    gate: &Path,
    dir: &Path,
    args: &[&str],
    timeout: Duration,
) -> Result<(RunEnd, f64), String> {
    let out_path = std::env::temp_dir().join(format!(
        "xtask-real-{}-{}.json",
        std::process::id(),
        args.first().copied().unwrap_or("run")
    ));
    let out = File::create(&out_path).map_err(|e| format!("{}: {e}", out_path.display()))?;
    let start = Instant::now();
    let mut child = Command::new(gate)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::from(out))
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", gate.display()))?;
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(st) => break Some(st),
            None if start.elapsed() >= timeout => {
                // the child is ours: kill it by its handle (its pid), then reap it
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            // poll finely at first: the small services run in a few milliseconds, and a coarse
            // poll would round their time up
            None if start.elapsed() < Duration::from_secs(2) => {
                std::thread::sleep(Duration::from_micros(500))
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let secs = start.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    Ok(match status {
        Some(st) => (RunEnd::Exited(st.code(), text), secs),
        None => (RunEnd::Hung, secs),
    })
}

fn rs_size(dir: &Path) -> (usize, u64) {
    let mut files = Vec::new();
    // unreadable folders only shrink the count; they are not an error for the score
    let _ = crate::rust_files(dir, &mut files);
    let bytes = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    (files.len(), bytes)
}

struct Row {
    /// IDEM001 at error level, read-only handlers counted false.
    idem_error: Precision,
    name: String,
    files: usize,
    mb: f64,
    secs: Option<f64>,
    routes_secs: Option<f64>,
    score: Score,
    notes: Vec<String>,
}

fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn prec_cell(p: &Precision) -> String {
    let mut s = format!("{}/{} {}", p.tp, p.judged(), pct(p.ratio()));
    if p.unjudged > 0 {
        let _ = write!(s, " +{}?", p.unjudged);
    }
    s
}

pub(crate) fn flag_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The gate binary (`--gate`, default `target/release/idemgate`) and the ground-truth folder
/// (`--tests-real`, default `tests/real`) every corpus command takes.
pub(crate) fn gate_and_truth(args: &[String]) -> Result<(PathBuf, PathBuf), String> {
    let gate = PathBuf::from(
        flag_value(args, "--gate").unwrap_or_else(|| "target/release/idemgate".to_owned()),
    );
    let gate = std::fs::canonicalize(&gate).map_err(|e| format!("{}: {e}", gate.display()))?;
    let tests_real =
        PathBuf::from(flag_value(args, "--tests-real").unwrap_or_else(|| "tests/real".to_owned()));
    Ok((gate, tests_real))
}

/// Entry point: `args` are everything after `real-check`.
pub fn main(args: &[String]) -> ExitCode {
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("real-check: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let corpus_dir = PathBuf::from(args.first().ok_or("usage: xtask real-check CORPUS_DIR")?);
    let (gate, tests_real) = gate_and_truth(args)?;
    let timeout_secs: u64 = match flag_value(args, "--timeout") {
        Some(v) => v.parse().map_err(|_| format!("bad --timeout {v:?}"))?,
        None => 300,
    };
    let timeout = Duration::from_secs(timeout_secs);
    let todo: Option<PathBuf> = flag_value(args, "--todo").map(PathBuf::from);
    let only: Option<Vec<String>> =
        flag_value(args, "--only").map(|v| v.split(',').map(str::to_owned).collect());
    let verbose = args.iter().any(|a| a == "--verbose");
    let runs: usize = match flag_value(args, "--runs") {
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| format!("bad --runs {v:?}"))?
            .max(1),
        None => 1,
    };

    let services = parse_corpus(&read(&tests_real.join("corpus.tsv"))?)?;
    let truth = parse_routes(&read(&tests_real.join("routes.tsv"))?)?;
    let verdicts_text = read(&tests_real.join("verdicts.tsv"))?;
    let verdicts = parse_verdicts(&verdicts_text)?;
    let read_only = parse_read_only(&verdicts_text);
    let judged = match std::fs::read_to_string(tests_real.join("judged_files.tsv")) {
        Ok(t) => parse_judged(&t)?,
        Err(_) => Judged::new(),
    };

    let startup = startup_secs(&gate, timeout);
    let mut rows = Vec::new();
    let mut hangs = Vec::new();
    let mut no_inventory = false;
    for svc in &services {
        if only.as_ref().is_some_and(|o| !o.contains(&svc.name)) {
            continue;
        }
        let dir = corpus_dir.join(&svc.name);
        if !dir.is_dir() {
            println!(
                "{}: not found under {} (skipped)",
                svc.name,
                corpus_dir.display()
            );
            continue;
        }
        let base = std::fs::canonicalize(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let (files, bytes) = rs_size(&base);
        let mut notes = Vec::new();
        eprintln!("real-check: {} ({} files) ...", svc.name, files);

        let (end, mut secs) = run_gate(&gate, &base, &CHECK_ARGS, timeout)?;
        // more runs only for the time (best of N); the findings are the first run's
        if matches!(end, RunEnd::Exited(..)) {
            for _ in 1..runs {
                if let (RunEnd::Exited(..), s) = run_gate(&gate, &base, &CHECK_ARGS, timeout)? {
                    secs = secs.min(s);
                }
            }
        }
        let mut errors = std::collections::HashSet::new();
        let (findings, secs) = match end {
            RunEnd::Hung => {
                hangs.push(svc.name.clone());
                notes.push(format!("check HUNG (killed after {timeout_secs}s)"));
                (Vec::new(), None)
            }
            RunEnd::Exited(Some(0 | 1), text) => match parse_findings(&text, &base) {
                Ok(f) => {
                    errors = idem001_errors(&text, &base);
                    (f, Some(secs))
                }
                Err(e) => {
                    notes.push(e);
                    (Vec::new(), Some(secs))
                }
            },
            RunEnd::Exited(code, _) => {
                notes.push(format!("check exited with {code:?}"));
                (Vec::new(), Some(secs))
            }
        };

        let routes_args = ["routes", ".", "--isolated", "--format", "json"];
        let (end, rsecs) = run_gate(&gate, &base, &routes_args, timeout)?;
        let (inventory, routes_secs) = match end {
            RunEnd::Hung => {
                hangs.push(format!("{} (routes)", svc.name));
                notes.push(format!("routes HUNG (killed after {timeout_secs}s)"));
                (Vec::new(), None)
            }
            RunEnd::Exited(Some(0 | 1), text) => match parse_inventory(&text, &base) {
                Ok(r) => (r, Some(rsecs)),
                Err(e) => {
                    notes.push(e);
                    (Vec::new(), Some(rsecs))
                }
            },
            RunEnd::Exited(Some(2), _) => {
                no_inventory = true;
                (Vec::new(), None)
            }
            RunEnd::Exited(code, _) => {
                notes.push(format!("routes exited with {code:?}"));
                (Vec::new(), None)
            }
        };
        let score = score(&svc.name, &findings, &inventory, &truth, &verdicts, &judged);
        let idem_error =
            idem001_error_precision(&svc.name, &findings, &errors, &verdicts, &read_only);
        rows.push(Row {
            idem_error,
            name: svc.name.clone(),
            files,
            mb: bytes as f64 / 1_048_576.0,
            secs,
            routes_secs,
            score,
            notes,
        });
    }
    print_report(&rows, verbose, no_inventory, &hangs, startup);
    if let Some(path) = todo {
        let text = todo_lines(
            rows.iter()
                .map(|r| (r.name.as_str(), &r.score.unjudged[..])),
        );
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("unjudged findings written to {} (fill in verdict and reason, then append to verdicts.tsv)", path.display());
    }
    Ok(if hangs.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Unjudged findings as `verdicts.tsv` lines with the verdict left empty and the gate's message
/// in the reason column, one per (service, file, line, rule).
pub fn todo_lines<'a>(services: impl Iterator<Item = (&'a str, &'a [Finding])>) -> String {
    let mut out = String::new();
    let mut seen = std::collections::HashSet::new();
    for (name, findings) in services {
        for f in findings {
            if seen.insert((name, f.file.as_str(), f.line, f.rule.as_str())) {
                let msg = f.message.replace(['\t', '\n'], " ");
                let _ = writeln!(
                    out,
                    "{name}\t{}\t{}\t{}\t\tgate: {msg}",
                    f.file, f.line, f.rule
                );
            }
        }
    }
    out
}

/// The fixed cost of one gate run (process start, no file): the best of three runs on an empty
/// folder. `None` when it cannot be measured.
fn startup_secs(gate: &Path, timeout: Duration) -> Option<f64> {
    let dir = std::env::temp_dir().join(format!("xtask-real-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let best = (0..3)
        .filter_map(|_| match run_gate(gate, &dir, &CHECK_ARGS, timeout) {
            Ok((RunEnd::Exited(Some(0 | 1), _), secs)) => Some(secs),
            _ => None,
        })
        .min_by(f64::total_cmp);
    let _ = std::fs::remove_dir(&dir);
    best
}

fn print_report(
    rows: &[Row],
    verbose: bool,
    no_inventory: bool,
    hangs: &[String],
    startup: Option<f64>,
) {
    if no_inventory {
        println!(
            "note: `idemgate routes` is not available (exit 2): route inventory treated as empty"
        );
    }
    println!(
        "{:<14} {:>5} {:>6} {:>7} {:>6} {:>7}  {:<18} {:<18} {:<16} {:<14} {:<8}  findings",
        "service",
        "files",
        "MB",
        "check s",
        "s/MB",
        "routes",
        "IDEM001 prec",
        "GATE002 prec",
        "recall",
        "agreement",
        "paths"
    );
    let mut tot_prec: BTreeMap<String, Precision> = BTreeMap::new();
    let mut tot_idem_error = Precision::default();
    let mut tot_rec = Recall::default();
    let (mut tot_s, mut tot_mb) = (0.0, 0.0);
    let zero = Precision::default();
    for r in rows {
        for (k, p) in &r.score.precision {
            tot_prec.entry(k.clone()).or_default().add(p);
        }
        tot_idem_error.add(&r.idem_error);
        tot_rec.add(&r.score.recall);
        if let Some(s) = r.secs {
            tot_s += s;
            tot_mb += r.mb;
        }
        let rec = &r.score.recall;
        let rules: Vec<String> = r
            .score
            .per_rule
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        println!(
            "{:<14} {:>5} {:>6.2} {:>7} {:>6} {:>7}  {:<18} {:<18} {:<16} {:<14} {:<8}  {}",
            r.name,
            r.files,
            r.mb,
            r.secs
                .map_or_else(|| "HANG".to_owned(), |s| format!("{s:.2}")),
            r.secs
                .map_or_else(|| "-".to_owned(), |s| format!("{:.3}", s / r.mb.max(1e-9))),
            r.routes_secs
                .map_or_else(|| "-".to_owned(), |s| format!("{s:.2}")),
            prec_cell(r.score.precision.get("IDEM001").unwrap_or(&zero)),
            prec_cell(r.score.precision.get("GATE002").unwrap_or(&zero)),
            format!(
                "{}/{} {}",
                rec.matched,
                rec.total,
                pct(ratio(rec.matched, rec.total))
            ),
            format!(
                "{}/{} {}",
                rec.agree,
                rec.total,
                pct(ratio(rec.agree, rec.total))
            ),
            if rec.paths_compared > 0 {
                format!("{}/{}", rec.paths_right, rec.paths_compared)
            } else {
                "-".to_owned()
            },
            rules.join(" ")
        );
        for n in &r.notes {
            println!("{:<14} note: {n}", "");
        }
    }
    println!();
    println!("totals over {} services", rows.len());
    for (k, p) in &tot_prec {
        println!(
            "  {k} precision: {} tp / {} judged = {} ({} unjudged)",
            p.tp,
            p.judged(),
            pct(p.ratio()),
            p.unjudged
        );
    }
    println!(
        "  IDEM001 at error level precision, read-only counted false: {} / {} judged = {} ({} unjudged)",
        tot_idem_error.tp,
        tot_idem_error.judged(),
        pct(tot_idem_error.ratio()),
        tot_idem_error.unjudged
    );
    println!(
        "  route recall: {}/{} = {} ({} through the inventory only)",
        tot_rec.matched,
        tot_rec.total,
        pct(ratio(tot_rec.matched, tot_rec.total)),
        tot_rec.by_inventory_only
    );
    println!(
        "  expectation agreement: {}/{} = {}",
        tot_rec.agree,
        tot_rec.total,
        pct(ratio(tot_rec.agree, tot_rec.total))
    );
    let timed: Vec<(&str, f64, f64)> = rows
        .iter()
        .filter_map(|r| r.secs.map(|s| (r.name.as_str(), s, r.mb)))
        .collect();
    if tot_rec.paths_compared > 0 {
        println!(
            "  inventory paths: {}/{} = {} equal to the truth (parameters, query and trailing / normalised)",
            tot_rec.paths_right,
            tot_rec.paths_compared,
            pct(ratio(tot_rec.paths_right, tot_rec.paths_compared))
        );
    }
    if let Some(sp) = speed(&timed) {
        println!(
            "  speed: {tot_s:.2} s for {tot_mb:.1} MB = {:.3} s/MB (corpus mean, total time / total MB)",
            sp.mean
        );
        print_slowest("slowest", &sp);
    }
    if let Some(st) = startup {
        // the same figures without the fixed cost of starting the gate, which dominates the
        // small services
        let net: Vec<(&str, f64, f64)> = timed
            .iter()
            .map(|&(n, s, m)| (n, (s - st).max(0.0), m))
            .collect();
        if let Some(sp) = speed(&net) {
            println!(
                "  without the startup cost ({st:.3} s per run, empty folder): {:.3} s/MB",
                sp.mean
            );
            print_slowest("slowest (net)", &sp);
        }
    }
    if hangs.is_empty() {
        println!("  hangs: none");
    } else {
        println!("  hangs: {}", hangs.join(", "));
    }
    if verbose {
        for r in rows {
            for f in &r.score.unjudged {
                println!(
                    "unjudged\t{}\t{}\t{}\t{}\t{}",
                    r.name, f.file, f.line, f.rule, f.message
                );
            }
            for t in &r.score.missed {
                println!(
                    "missed\t{}\t{}\t{}\t{} {}\t{}",
                    r.name, t.file, t.line, t.method, t.path, t.note
                );
            }
            for t in &r.score.disagree {
                println!(
                    "disagree\t{}\t{}\t{}\t{} {}\texpect {:?}",
                    r.name, t.file, t.line, t.method, t.path, t.expect
                );
            }
            for (t, got) in &r.score.wrong_paths {
                println!(
                    "wrong-path\t{}\t{}\t{}\t{} {}\tinventory: {}",
                    r.name,
                    t.file,
                    t.line,
                    t.method,
                    t.path,
                    got.join(" | ")
                );
            }
        }
    }
}

fn print_slowest(what: &str, sp: &Speed) {
    println!(
        "  {what}: {} {:.3} s/MB = {:.1}x the corpus mean, {:.1}x the mean of the others ({})",
        sp.slowest,
        sp.slowest_spm,
        sp.rel,
        sp.rel_others,
        if sp.rel <= 2.0 {
            "within the 2x target"
        } else {
            "OVER the 2x target"
        }
    );
}

/// Time per MB over the corpus and its slowest service.
#[derive(Debug, Clone, PartialEq)]
pub struct Speed {
    /// total seconds / total MB
    pub mean: f64,
    pub slowest: String,
    pub slowest_spm: f64,
    /// slowest s/MB / corpus mean
    pub rel: f64,
    /// slowest s/MB / (seconds / MB of all the other services)
    pub rel_others: f64,
}

/// `runs` are (service, seconds, MB); `None` without any MB.
pub fn speed(runs: &[(&str, f64, f64)]) -> Option<Speed> {
    let secs: f64 = runs.iter().map(|r| r.1).sum();
    let mb: f64 = runs.iter().map(|r| r.2).sum();
    if mb <= 0.0 {
        return None;
    }
    let mean = secs / mb;
    let (name, s, m) = runs
        .iter()
        .filter(|r| r.2 > 0.0)
        .max_by(|a, b| (a.1 / a.2).total_cmp(&(b.1 / b.2)))?;
    let spm = s / m;
    let others_mb = mb - m;
    let rel_others = if others_mb > 0.0 {
        spm / ((secs - s) / others_mb).max(1e-12)
    } else {
        1.0
    };
    Some(Speed {
        mean,
        slowest: (*name).to_owned(),
        slowest_spm: spm,
        rel: spm / mean.max(1e-12),
        rel_others,
    })
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &str, file: &str, line: u32, related: &[(&str, u32, u32)]) -> Finding {
        Finding {
            rule: rule.to_owned(),
            message: String::new(),
            file: file.to_owned(),
            line,
            end_line: Some(line),
            related: related
                .iter()
                .map(|&(f, l, e)| Loc {
                    file: f.to_owned(),
                    line: l,
                    end_line: Some(e),
                })
                .collect(),
        }
    }

    fn truth(file: &str, line: u32, expect: Expect) -> TruthRoute {
        TruthRoute {
            name: "svc".to_owned(),
            file: file.to_owned(),
            line,
            method: "POST".to_owned(),
            path: "/x".to_owned(),
            expect,
            note: String::new(),
        }
    }

    #[test]
    fn tsv_parsing_skips_header_blank_and_comments() {
        let routes = parse_routes(
            "name\tfile\tline\tmethod\tpath\texpect\tnote\n\
             # a comment\n\
             svc\tsrc/a.rs\t10\tPOST\t/a\tmissing\tnote\n\
             \n\
             svc\tsrc/b.rs\t3\tPATCH\t/b\tdeclared\n",
        )
        .unwrap();
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[1].expect, Expect::Declared);
        assert_eq!(routes[1].note, "");
        assert!(parse_routes("h\nsvc\tf\tx\tPOST\t/\tmissing\t\n").is_err());
        assert!(parse_routes("h\nsvc\tf\t1\tPOST\t/\tmaybe\t\n").is_err());
        let v = parse_verdicts("h\nsvc\tsrc/a.rs\t12\tIDEM001\ttp\twhy\n").unwrap();
        assert_eq!(
            v.get(&("svc".into(), "src/a.rs".into(), 12, "IDEM001".into())),
            Some(&Verdict::Tp)
        );
        assert!(parse_verdicts("h\nsvc\tsrc/a.rs\t12\tIDEM001\tmaybe\twhy\n").is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_match("src/**", "src/a/b.rs"));
        assert!(glob_match("src/**/*.rs", "src/a.rs"));
        assert!(glob_match("src/*.rs", "src/a.rs"));
        assert!(!glob_match("src/*.rs", "src/a/b.rs"));
        assert!(glob_match("crates/*/src/lib.rs", "crates/api/src/lib.rs"));
        assert!(glob_match("a?.rs", "ab.rs"));
        assert!(!glob_match("a?.rs", "a/.rs"));
        assert!(glob_match("**", "anything/at/all.rs"));
    }

    #[test]
    fn location_ranges_cover_lines() {
        let f = finding("IDEM001", "src/h.rs", 40, &[("src/r.rs", 10, 14)]);
        assert!(f.covers("src/h.rs", 40));
        assert!(f.covers("src/r.rs", 10));
        assert!(f.covers("src/r.rs", 14));
        assert!(!f.covers("src/r.rs", 15));
        assert!(!f.covers("src/h.rs", 41));
        // a missing or inverted end line covers the start line only
        let l = Loc {
            file: "a".into(),
            line: 5,
            end_line: None,
        };
        assert!(l.covers("a", 5) && !l.covers("a", 6));
        let l = Loc {
            file: "a".into(),
            line: 5,
            end_line: Some(2),
        };
        assert!(l.covers("a", 5) && !l.covers("a", 4));
    }

    #[test]
    fn idem001_at_error_level_counts_read_only_handlers_false() {
        let text = "h\nsvc\ta.rs\t1\tIDEM001\ttp\twrites\nsvc\ta.rs\t2\tIDEM001\ttp\tread-only: echoes\nsvc\ta.rs\t3\tIDEM001\ttp\tread-only: validates\n";
        let v = parse_verdicts(text).unwrap();
        let ro = parse_read_only(text);
        assert_eq!(ro.len(), 2);
        let findings = vec![
            finding("IDEM001", "a.rs", 1, &[]),
            finding("IDEM001", "a.rs", 2, &[]),
            finding("IDEM001", "a.rs", 3, &[]),
            finding("IDEM001", "a.rs", 4, &[]),
        ];
        // line 3 is an info note: not counted at error level; line 4 is unjudged
        let json = r#"{"findings":[{"rule":"IDEM001","file":"a.rs","line":1,"severity":"error"},{"rule":"IDEM001","file":"a.rs","line":2,"severity":"error"},{"rule":"IDEM001","file":"a.rs","line":3,"severity":"info"},{"rule":"IDEM001","file":"a.rs","line":4,"severity":"error"}]}"#;
        let errors = idem001_errors(json, Path::new("/nowhere"));
        let p = idem001_error_precision("svc", &findings, &errors, &v, &ro);
        assert_eq!((p.tp, p.fp, p.unjudged), (1, 1, 1));
    }

    #[test]
    fn precision_counts_tp_fp_and_unjudged() {
        let findings = vec![
            finding("IDEM001", "a.rs", 1, &[]),
            finding("IDEM001", "a.rs", 2, &[]),
            finding("IDEM001", "a.rs", 3, &[]),
            finding("GATE002", "a.rs", 4, &[]),
            finding("RETRY001", "a.rs", 5, &[]),
        ];
        let mut v = Verdicts::new();
        v.insert(
            ("svc".into(), "a.rs".into(), 1, "IDEM001".into()),
            Verdict::Tp,
        );
        v.insert(
            ("svc".into(), "a.rs".into(), 2, "IDEM001".into()),
            Verdict::Fp,
        );
        v.insert(
            ("svc".into(), "a.rs".into(), 4, "GATE002".into()),
            Verdict::Tp,
        );
        // a verdict of another service or rule does not apply
        v.insert(
            ("other".into(), "a.rs".into(), 3, "IDEM001".into()),
            Verdict::Tp,
        );
        v.insert(
            ("svc".into(), "a.rs".into(), 3, "GATE002".into()),
            Verdict::Tp,
        );
        let s = score("svc", &findings, &[], &[], &v, &Judged::new());
        let p = s.precision["IDEM001"];
        assert_eq!((p.tp, p.fp, p.unjudged), (1, 1, 1));
        assert_eq!(p.ratio(), Some(0.5));
        assert_eq!(s.precision["GATE002"].ratio(), Some(1.0));
        assert_eq!(s.per_rule["RETRY001"], 1);
        assert!(!s.precision.contains_key("RETRY001"));
        assert_eq!(s.unjudged.len(), 1);
        assert_eq!(Precision::default().ratio(), None);
    }

    #[test]
    fn recall_and_agreement() {
        let truth = vec![
            truth("src/r.rs", 10, Expect::Missing), // covered by the related range of an IDEM001
            truth("src/r.rs", 20, Expect::Declared), // wrongly reported: matched, disagrees
            truth("src/r.rs", 30, Expect::Declared), // only in the inventory: matched, agrees
            truth("src/r.rs", 40, Expect::Gate002), // GATE002 at the registration
            truth("src/r.rs", 50, Expect::Missing), // nothing: missed, disagrees
            TruthRoute {
                method: "PATCH".into(),
                // its IDEM001 is at the handler the inventory names
                ..truth("src/r.rs", 60, Expect::Missing)
            },
            truth("gen/x.rs", 1, Expect::Missing), // outside the judged files: ignored
        ];
        let findings = vec![
            finding("IDEM001", "src/h.rs", 100, &[("src/r.rs", 9, 11)]),
            finding("IDEM001", "src/h.rs", 200, &[("src/r.rs", 20, 20)]),
            finding("IDEM001", "src/h.rs", 300, &[("src/doc.rs", 1, 1)]),
            finding("GATE002", "src/r.rs", 40, &[]),
            // a non-route rule covering a route line does not count
            finding("RETRY001", "src/r.rs", 50, &[]),
        ];
        let inventory = vec![
            InvRoute {
                method: "POST".into(),
                path: Some("/x/".into()),
                file: "src/r.rs".into(),
                line: 29,
                end_line: Some(31),
                status: "declared".into(),
                handler_file: None,
                handler_line: None,
            },
            // another method on the same lines does not count, nor does its path
            InvRoute {
                method: "GET".into(),
                path: Some("/elsewhere".into()),
                file: "src/r.rs".into(),
                line: 50,
                end_line: Some(50),
                status: "missing".into(),
                handler_file: None,
                handler_line: None,
            },
            // an any-method route counts for a POST truth; its path is wrong
            InvRoute {
                method: "*".into(),
                path: Some("/y".into()),
                file: "src/r.rs".into(),
                line: 40,
                end_line: Some(40),
                status: "unresolved".into(),
                handler_file: None,
                handler_line: None,
            },
            // the IDEM001 of this route is reported at its handler, related elsewhere
            InvRoute {
                method: "PATCH".into(),
                path: Some("/x".into()),
                file: "src/r.rs".into(),
                line: 60,
                end_line: Some(61),
                status: "missing".into(),
                handler_file: Some("src/h.rs".into()),
                handler_line: Some(300),
            },
        ];
        let mut judged = Judged::new();
        judged.insert("svc".into(), vec!["src/**".into()]);
        let s = score(
            "svc",
            &findings,
            &inventory,
            &truth,
            &Verdicts::new(),
            &judged,
        );
        assert_eq!(
            s.recall,
            Recall {
                total: 6,
                matched: 5,
                by_inventory_only: 2,
                agree: 4,
                paths_compared: 3,
                paths_right: 2,
            }
        );
        assert_eq!(s.wrong_paths.len(), 1);
        assert_eq!(s.wrong_paths[0].0.line, 40);
        assert_eq!(s.missed.len(), 1);
        assert_eq!(s.missed[0].line, 50);
        assert_eq!(
            s.disagree.iter().map(|t| t.line).collect::<Vec<_>>(),
            vec![20, 50]
        );
        // without a judged-files entry every file is judged
        let s = score(
            "svc",
            &findings,
            &inventory,
            &truth,
            &Verdicts::new(),
            &Judged::new(),
        );
        assert_eq!(s.recall.total, 7);
    }

    #[test]
    fn route_paths_are_compared_modulo_parameter_syntax() {
        let n = normalize_route_path;
        assert_eq!(n("/users/{id}"), n("/users/:user_id"));
        assert_eq!(n("/~/<blog>/<slug>/edit"), "/~/{}/{}/edit");
        assert_eq!(n("/git/index/{*path}"), "/git/index/{}");
        assert_eq!(n("/csrf-violation?<target>"), "/csrf-violation");
        assert_eq!(n("/admin/"), "/admin");
        assert_eq!(n("/"), "/");
        assert_eq!(n(""), "/");
        assert_ne!(n("/api/login"), n("/login"));
    }

    #[test]
    fn todo_lines_are_verdict_lines_without_a_verdict() {
        let mut f = finding("IDEM001", "src/a.rs", 3, &[]);
        f.message = "handler\tx\ny".into();
        let fs = [f.clone(), f];
        let text = todo_lines([("svc", &fs[..])].into_iter());
        assert_eq!(text, "svc\tsrc/a.rs\t3\tIDEM001\t\tgate: handler x y\n");
        // filled in, it parses as a verdict
        let filled = text.replace("\t\tgate", "\ttp\tgate");
        assert_eq!(
            parse_verdicts(&format!("header\n{filled}")).unwrap().len(),
            1
        );
    }

    #[test]
    fn speed_finds_the_slowest_per_mb() {
        assert_eq!(speed(&[]), None);
        let sp = speed(&[("a", 1.0, 1.0), ("b", 1.0, 4.0), ("c", 8.0, 2.0)]).unwrap();
        assert!((sp.mean - 10.0 / 7.0).abs() < 1e-9);
        assert_eq!(sp.slowest, "c");
        assert!((sp.slowest_spm - 4.0).abs() < 1e-9);
        assert!((sp.rel - 4.0 / (10.0 / 7.0)).abs() < 1e-9);
        // the others: 2 s for 5 MB
        assert!((sp.rel_others - 4.0 / 0.4).abs() < 1e-9);
        let one = speed(&[("a", 2.0, 1.0)]).unwrap();
        assert_eq!((one.rel, one.rel_others), (1.0, 1.0));
    }

    #[test]
    fn gate_json_paths_are_made_relative() {
        let base = Path::new("/corpus/svc");
        let json = r#"{"version":1,"findings":[{"rule":"IDEM001","message":"m","file":"/corpus/svc/src/a.rs",
            "line":3,"end_line":4,"related":[{"file":"./src/r.rs","line":9,"end_line":9,"message":"x"}]}]}"#;
        let f = parse_findings(json, base).unwrap();
        assert_eq!(f[0].file, "src/a.rs");
        assert_eq!(f[0].related[0].file, "src/r.rs");
        assert!(parse_findings("{not json", base).is_err());
        let inv = r#"{"version":1,"routes":[{"method":"POST","path":null,"framework":"axum",
            "file":"src/r.rs","line":10,"end_line":12,"status":"missing","declared_by":null,"handler":null}]}"#;
        let r = parse_inventory(inv, base).unwrap();
        assert!(r[0].covers("POST", "src/r.rs", 11));
        assert!(!r[0].covers("GET", "src/r.rs", 11));
        assert!(!r[0].covers("POST", "src/r.rs", 13));
        assert!(parse_inventory(r#"{"routes":[{"file":1}]}"#, base).is_err());
    }
}
