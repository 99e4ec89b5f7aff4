//! Pre-merge diff mode (`--changed-since REV`): report only the findings a change is
//! responsible for. The whole tree is still analysed (a route in one file, its handler in
//! another), then a finding is kept when any of its locations lies in a changed file: for Rust,
//! anywhere in the file; for an OpenAPI document, inside an operation whose lines changed.
//!
//! Changed = the files `git diff` reports between the merge base of REV and HEAD and the
//! working tree (so commits on the branch, staged and unstaged edits), plus untracked files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use idemgate_rules::{Finding, Location};

/// Why the changed files cannot be known.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ChangedError {
    #[error("--changed-since needs a git repository, and {} is not in one", dir.display())]
    #[diagnostic(
        code(idemgate::changed_since),
        help("run the gate inside the repository's working tree, or drop --changed-since")
    )]
    NotARepository { dir: PathBuf },
    #[error("--changed-since: unknown revision `{rev}`")]
    #[diagnostic(
        code(idemgate::changed_since),
        help("name a commit, branch or tag git knows (`git fetch` it first in a shallow CI clone, e.g. actions/checkout with fetch-depth: 0)")
    )]
    UnknownRevision { rev: String },
    #[error("cannot run git: {0}")]
    #[diagnostic(
        code(idemgate::changed_since),
        help("--changed-since needs `git` on the PATH")
    )]
    Git(String),
}

/// Which lines of a changed file changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lines {
    /// A new (untracked or added) file: all of it.
    All,
    /// 1-based inclusive ranges of the current file.
    Ranges(Vec<(u32, u32)>),
}

/// The changed files, by path relative to the scan root (`/`-separated, as in findings).
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub files: HashMap<String, Lines>,
}

fn git(dir: &Path, args: &[&str]) -> Result<std::process::Output, ChangedError> {
    Command::new("git")
        .current_dir(dir)
        .args(["-c", "core.quotepath=off"])
        .args(args)
        .output()
        .map_err(|e| ChangedError::Git(e.to_string()))
}

/// The changes since `rev`, as seen from `root` (the scan root).
pub fn since(rev: &str, root: &Path) -> Result<Changes, ChangedError> {
    let inside = git(root, &["rev-parse", "--is-inside-work-tree"])?;
    if !inside.status.success() || String::from_utf8_lossy(&inside.stdout).trim() != "true" {
        return Err(ChangedError::NotARepository {
            dir: root.to_path_buf(),
        });
    }
    let commit = format!("{rev}^{{commit}}");
    let verify = git(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &commit,
        ],
    )?;
    if rev == "HEAD" && !verify.status.success() {
        // no commit yet (a pre-commit hook on the first commit): every file is new
        let all = git(
            root,
            &[
                "ls-files",
                "--cached",
                "--others",
                "--exclude-standard",
                "-z",
            ],
        )?;
        let mut changes = Changes::default();
        for f in all.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
            changes
                .files
                .insert(String::from_utf8_lossy(f).into_owned(), Lines::All);
        }
        return Ok(changes);
    }
    if rev.starts_with('-') || !verify.status.success() {
        return Err(ChangedError::UnknownRevision {
            rev: rev.to_string(),
        });
    }
    let rev_sha = String::from_utf8_lossy(&verify.stdout).trim().to_string();
    // `REV...`: from where the branch left REV; unrelated histories compare with REV itself
    let base = git(root, &["merge-base", &rev_sha, "HEAD"])?;
    let base = if base.status.success() {
        String::from_utf8_lossy(&base.stdout).trim().to_string()
    } else {
        rev_sha
    };
    let diff = git(
        root,
        &[
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "--relative",
            "-U0",
            &base,
            "--",
        ],
    )?;
    if !diff.status.success() {
        return Err(ChangedError::Git(
            String::from_utf8_lossy(&diff.stderr).trim().to_string(),
        ));
    }
    let mut changes = parse_diff(&String::from_utf8_lossy(&diff.stdout));
    let untracked = git(root, &["ls-files", "--others", "--exclude-standard", "-z"])?;
    for f in untracked
        .stdout
        .split(|b| *b == 0)
        .filter(|f| !f.is_empty())
    {
        changes
            .files
            .insert(String::from_utf8_lossy(f).into_owned(), Lines::All);
    }
    Ok(changes)
}

/// Reads the changed files and line ranges of a `git diff -U0` (new side).
pub fn parse_diff(text: &str) -> Changes {
    let mut changes = Changes::default();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(path) = line.strip_prefix("+++ ") {
            current = path.strip_prefix("b/").map(str::to_string);
            if let Some(p) = &current {
                changes
                    .files
                    .entry(p.clone())
                    .or_insert_with(|| Lines::Ranges(Vec::new()));
            }
        } else if line.starts_with("@@ ") {
            let (Some(p), Some((start, count))) = (&current, hunk_new_side(line)) else {
                continue;
            };
            // a pure deletion (count 0) touches the lines around where it happened
            let range = if count == 0 {
                (start.max(1), start + 1)
            } else {
                (start, start + count - 1)
            };
            if let Some(Lines::Ranges(r)) = changes.files.get_mut(p) {
                r.push(range);
            }
        }
    }
    changes
}

/// `@@ -a,b +c,d @@` → (c, d); `d` defaults to 1.
fn hunk_new_side(line: &str) -> Option<(u32, u32)> {
    let plus = line.split_whitespace().find(|w| w.starts_with('+'))?;
    let plus = plus.trim_start_matches('+');
    let (start, count) = match plus.split_once(',') {
        Some((s, c)) => (s.parse().ok()?, c.parse().ok()?),
        None => (plus.parse().ok()?, 1),
    };
    Some((start, count))
}

fn is_spec(file: &str) -> bool {
    let lower = file.to_ascii_lowercase();
    [".yaml", ".yml", ".json"]
        .iter()
        .any(|e| lower.ends_with(e))
}

/// Keeps the findings a location of which changed. `root` is where spec files are read from
/// (to find the operation around a location).
pub fn filter(findings: Vec<Finding>, changes: &Changes, root: &Path) -> Vec<Finding> {
    let mut texts: HashMap<String, Option<Vec<String>>> = HashMap::new();
    findings
        .into_iter()
        .filter(|f| {
            f.anchors()
                .any(|l| location_changed(l, changes, root, &mut texts))
        })
        .collect()
}

fn location_changed(
    l: &Location,
    changes: &Changes,
    root: &Path,
    texts: &mut HashMap<String, Option<Vec<String>>>,
) -> bool {
    let Some(lines) = changes.files.get(&*l.file) else {
        return false;
    };
    let ranges = match lines {
        Lines::All => return true,
        Lines::Ranges(r) => r,
    };
    if !is_spec(&l.file) {
        return true;
    }
    // each spec is read and split once, however many findings it holds
    let lines = texts.entry(l.file.to_string()).or_insert_with(|| {
        std::fs::read_to_string(root.join(&*l.file))
            .ok()
            .map(|t| t.lines().map(str::to_string).collect())
    });
    let Some(lines) = lines else {
        return true;
    };
    let (start, end) = block_of(lines, l.line);
    ranges.iter().any(|(a, b)| *a <= end && *b >= start)
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

fn is_method_key(line: &str) -> bool {
    let t = line.trim_start().trim_start_matches(['"', '\'']);
    METHODS.iter().any(|m| {
        t.strip_prefix(m).is_some_and(|rest| {
            rest.trim_start_matches(['"', '\''])
                .trim_start()
                .starts_with(':')
        })
    })
}

/// The 1-based lines of the operation (method key and everything nested under it) that holds
/// `line`, by indentation (YAML, and JSON as printed by every tool); when `line` is not inside
/// an operation (a shared component, the document root), the block of `line` itself.
pub fn operation_block(text: &str, line: u32) -> (u32, u32) {
    let lines: Vec<&str> = text.lines().collect();
    block_of(&lines, line)
}

fn block_of<S: AsRef<str>>(lines: &[S], line: u32) -> (u32, u32) {
    let at = (line as usize).saturating_sub(1);
    if at >= lines.len() {
        return (line, line);
    }
    let mut i = at;
    let mut ind = indent(lines[i].as_ref());
    let head = loop {
        if is_method_key(lines[i].as_ref()) {
            break i;
        }
        let parent = (0..i)
            .rev()
            .find(|&j| !is_blank(lines[j].as_ref()) && indent(lines[j].as_ref()) < ind);
        match parent {
            Some(j) => {
                i = j;
                ind = indent(lines[j].as_ref());
            }
            None => break at,
        }
    };
    let head_indent = indent(lines[head].as_ref());
    let mut end = head;
    for (j, l) in lines.iter().enumerate().skip(head + 1) {
        let l = l.as_ref();
        if is_blank(l) {
            continue;
        }
        if indent(l) <= head_indent {
            break;
        }
        end = j;
    }
    (to_u32(head + 1), to_u32(end + 1))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_of_a_diff() {
        let diff = "diff --git a/x.rs b/x.rs\n--- a/x.rs\n+++ b/x.rs\n@@ -3 +3,2 @@ fn a\n-x\n+y\n+z\n@@ -10,2 +11,0 @@\n-q\n-r\n--- a/gone.rs\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n";
        let c = parse_diff(diff);
        assert_eq!(
            c.files.get("x.rs"),
            Some(&Lines::Ranges(vec![(3, 4), (11, 12)]))
        );
        assert!(!c.files.contains_key("gone.rs"));
    }

    #[test]
    fn operation_blocks() {
        let spec = "openapi: 3.0.3\npaths:\n  /a:\n    post:\n      responses:\n        '201':\n          description: ok\n    get:\n      responses: {}\n  /b:\n    patch:\n      responses: {}\n";
        assert_eq!(operation_block(spec, 6), (4, 7));
        assert_eq!(operation_block(spec, 4), (4, 7));
        assert_eq!(operation_block(spec, 11), (11, 12));
        // not in an operation: the line's own block
        assert_eq!(operation_block(spec, 3), (3, 9));
        let json = "{\n  \"paths\": {\n    \"/a\": {\n      \"post\": {\n        \"responses\": {}\n      }\n    }\n  }\n}\n";
        assert_eq!(operation_block(json, 5), (4, 5));
    }
}
