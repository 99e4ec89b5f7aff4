//! `xtask real-loops`: score the retry rules (RETRY001–003) on real code against the loops judged
//! by hand in `tests/real/loops.tsv`.
//!
//! ```text
//! cargo run -p xtask --release -- real-loops CORPUS_DIR [--gate target/release/idemgate]
//!     [--tests-real tests/real] [--timeout 300] [--only NAME[,NAME]] [--verbose]
//! ```
//!
//! Every project named in `loops.tsv` is checked from inside `CORPUS_DIR/<name>` with
//! `idemgate check . --isolated --format json --fail-level info`. A finding belongs to a judged
//! loop when one of its locations (primary or related) covers the loop's line in the same file.
//! Then, per rule:
//! - RETRY001 (hand-rolled retry) is right on a `retry` loop;
//! - RETRY002 (no jitter) is right on a `retry` whose delay is `constant` or `deterministic`;
//! - RETRY003 (unbounded) is right on a `retry` with neither an attempt cap nor a time cap.
//!
//! Recall is over the loops each rule should report. Findings of these rules at lines nobody
//! judged are listed (`--verbose` prints them all), so they can be judged and added.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::real::{
    flag_value, gate_and_truth, parse_findings, run_gate, Finding, RunEnd, CHECK_ARGS,
};

/// One judged loop of `loops.tsv`.
#[derive(Debug, Clone)]
pub struct JudgedLoop {
    pub name: String,
    pub file: String,
    pub line: u32,
    pub retry: bool,
    pub attempt_cap: bool,
    pub time_cap: bool,
    pub delay: String,
    pub reason: String,
}

impl JudgedLoop {
    /// Whether `rule` should report this loop.
    pub fn expects(&self, rule: &str) -> bool {
        match rule {
            "RETRY001" => self.retry,
            "RETRY002" => self.retry && matches!(self.delay.as_str(), "constant" | "deterministic"),
            "RETRY003" => self.retry && !self.attempt_cap && !self.time_cap,
            _ => false,
        }
    }
}

pub const LOOP_RULES: [&str; 3] = ["RETRY001", "RETRY002", "RETRY003"];

pub fn parse_loops(text: &str) -> Result<Vec<JudgedLoop>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let c: Vec<&str> = line.split('\t').collect();
        if c.len() < 9 {
            return Err(format!(
                "loops.tsv:{}: expected 9 columns, got {}",
                i + 1,
                c.len()
            ));
        }
        let verdict = c[4];
        if verdict != "retry" && verdict != "not-retry" {
            return Err(format!("loops.tsv:{}: verdict {verdict:?}", i + 1));
        }
        out.push(JudgedLoop {
            name: c[0].to_owned(),
            file: c[1].to_owned(),
            line: c[2]
                .parse()
                .map_err(|_| format!("loops.tsv:{}: line {:?}", i + 1, c[2]))?,
            retry: verdict == "retry",
            attempt_cap: c[5] == "yes",
            time_cap: c[6] == "yes",
            delay: c[7].to_owned(),
            reason: c[8].to_owned(),
        });
    }
    Ok(out)
}

/// Per-rule counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoopScore {
    pub tp: usize,
    pub fp: usize,
    pub expected: usize,
    pub found: usize,
    pub unjudged: usize,
}

/// What one rule got right and wrong, with the loops behind the numbers.
#[derive(Debug, Default)]
pub struct RuleOutcome {
    pub score: LoopScore,
    pub false_positives: Vec<String>,
    pub missed: Vec<String>,
    pub unjudged: Vec<String>,
}

/// Scores `findings` of one project against its judged loops.
pub fn score_loops(
    loops: &[&JudgedLoop],
    findings: &[Finding],
    out: &mut BTreeMap<&'static str, RuleOutcome>,
) {
    for rule in LOOP_RULES {
        let o = out.entry(rule).or_default();
        let of_rule: Vec<&Finding> = findings.iter().filter(|f| f.rule == rule).collect();
        for l in loops {
            let hit = of_rule.iter().any(|f| f.covers(&l.file, l.line));
            let want = l.expects(rule);
            let at = format!("{} {}:{} — {}", l.name, l.file, l.line, l.reason);
            if want {
                o.score.expected += 1;
            }
            match (hit, want) {
                (true, true) => {
                    o.score.tp += 1;
                    o.score.found += 1;
                }
                (true, false) => {
                    o.score.fp += 1;
                    o.false_positives.push(at);
                }
                (false, true) => o.missed.push(at),
                (false, false) => {}
            }
        }
        for f in &of_rule {
            let judged = loops.iter().any(|l| f.covers(&l.file, l.line));
            if !judged {
                o.score.unjudged += 1;
                let name = loops.first().map(|l| l.name.as_str()).unwrap_or("?");
                o.unjudged
                    .push(format!("{name} {}:{} — {}", f.file, f.line, f.message));
            }
        }
    }
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "-".to_owned()
    } else {
        format!("{:.0} %", 100.0 * n as f64 / d as f64)
    }
}

pub fn main(args: &[String]) -> ExitCode {
    match run(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("real-loops: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let corpus = PathBuf::from(args.first().ok_or("usage: xtask real-loops CORPUS_DIR")?);
    let (gate, tests_real) = gate_and_truth(args)?;
    let timeout = Duration::from_secs(
        flag_value(args, "--timeout")
            .map(|v| v.parse().map_err(|_| format!("bad --timeout {v:?}")))
            .transpose()?
            .unwrap_or(300),
    );
    let only: Option<Vec<String>> =
        flag_value(args, "--only").map(|v| v.split(',').map(str::to_owned).collect());
    let verbose = args.iter().any(|a| a == "--verbose");
    let path = tests_real.join("loops.tsv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let loops = parse_loops(&text)?;
    let mut by_project: BTreeMap<&str, Vec<&JudgedLoop>> = BTreeMap::new();
    for l in &loops {
        by_project.entry(l.name.as_str()).or_default().push(l);
    }
    let mut outcome: BTreeMap<&'static str, RuleOutcome> = BTreeMap::new();
    let mut hung = false;
    for (name, judged) in &by_project {
        if only.as_ref().is_some_and(|o| !o.iter().any(|n| n == name)) {
            continue;
        }
        let dir = corpus.join(name);
        if !dir.is_dir() {
            println!("{name}: not found under {} (skipped)", corpus.display());
            continue;
        }
        let base = std::fs::canonicalize(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let findings = match run_gate(&gate, &base, &CHECK_ARGS, timeout)? {
            (RunEnd::Exited(Some(0 | 1), json), _) => parse_findings(&json, Path::new(&base))?,
            (RunEnd::Exited(code, _), _) => {
                println!("{name}: check exited with {code:?}");
                continue;
            }
            (RunEnd::Hung, _) => {
                println!("{name}: check HUNG");
                hung = true;
                continue;
            }
        };
        score_loops(judged, &findings, &mut outcome);
    }
    println!(
        "{:<9} {:>9} {:>9} {:>9} {:>9}",
        "rule", "precision", "recall", "tp/fp", "unjudged"
    );
    for (rule, o) in &outcome {
        let s = o.score;
        println!(
            "{:<9} {:>9} {:>9} {:>9} {:>9}",
            rule,
            format!("{} ({}/{})", pct(s.tp, s.tp + s.fp), s.tp, s.tp + s.fp),
            format!("{} ({}/{})", pct(s.found, s.expected), s.found, s.expected),
            format!("{}/{}", s.tp, s.fp),
            s.unjudged
        );
    }
    for (rule, o) in &outcome {
        for fp in &o.false_positives {
            println!("  {rule} false positive: {fp}");
        }
        if verbose {
            for m in &o.missed {
                println!("  {rule} missed: {m}");
            }
            for u in &o.unjudged {
                println!("  {rule} unjudged: {u}");
            }
        }
    }
    Ok(if hung {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::real::Loc;

    fn finding(rule: &str, file: &str, line: u32, related: &[u32]) -> Finding {
        Finding {
            rule: rule.to_owned(),
            message: String::new(),
            file: file.to_owned(),
            line,
            end_line: None,
            related: related
                .iter()
                .map(|&l| Loc {
                    file: file.to_owned(),
                    line: l,
                    end_line: None,
                })
                .collect(),
        }
    }

    #[test]
    fn scores_each_rule_against_what_it_should_report() {
        let text = "name\tfile\tline\tkind\tverdict\tattempt_cap\ttime_cap\tdelay\treason\n\
            p\ta.rs\t10\tloop\tretry\tno\tno\tconstant\tforever, fixed sleep\n\
            p\ta.rs\t30\tloop\tretry\tyes\tno\tjittered\tcapped, jittered\n\
            p\ta.rs\t50\tloop\tnot-retry\t-\t-\t-\tdrain\n";
        let loops = parse_loops(text).unwrap();
        let refs: Vec<&JudgedLoop> = loops.iter().collect();
        let findings = vec![
            finding("RETRY001", "a.rs", 10, &[]),
            finding("RETRY001", "a.rs", 50, &[]),
            finding("RETRY002", "a.rs", 12, &[10]),
            finding("RETRY003", "a.rs", 30, &[]),
            finding("RETRY001", "a.rs", 70, &[]),
        ];
        let mut out = BTreeMap::new();
        score_loops(&refs, &findings, &mut out);
        let r1 = out["RETRY001"].score;
        assert_eq!((r1.tp, r1.fp, r1.expected, r1.unjudged), (1, 1, 2, 1));
        let r2 = out["RETRY002"].score;
        assert_eq!((r2.tp, r2.fp, r2.expected), (1, 0, 1));
        let r3 = out["RETRY003"].score;
        assert_eq!((r3.tp, r3.fp, r3.expected), (0, 1, 1));
    }
}
