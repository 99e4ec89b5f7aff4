//! The human report: miette's graphical diagnostics with the source snippet, a primary label at
//! the offending code and secondary labels where the finding has related places, the rule id,
//! a help line, and a summary. Colourless (and stable for snapshots) when not on a terminal.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};

use super::counts;
use crate::engine::Outcome;
use idemgate_rules::{Finding, LineIndex, Severity};

struct Rendered<'a> {
    finding: &'a Finding,
    source: Option<IndexedSource>,
    help: Option<String>,
}

/// A file's text and its line index, loaded once per file.
type Loaded = (Arc<str>, Arc<LineIndex>);

/// A file's text with its line index. miette's own `SourceCode` for strings scans from the start
/// of the file for every span; on a 4 MB spec with hundreds of findings that is quadratic.
/// This looks the lines up instead.
struct IndexedSource {
    name: Arc<str>,
    text: Arc<str>,
    index: Arc<LineIndex>,
}

impl SourceCode for IndexedSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let bytes = self.text.as_bytes();
        let start = span.offset();
        let end = start + span.len();
        if end > bytes.len() {
            return Err(MietteError::OutOfBounds);
        }
        let first_line = self.index.line_of(start);
        let last_line = self.index.line_of(end.saturating_sub(1).max(start));
        let (data_start, line, column) = if context_lines_before == 0 {
            let line_start = self.index.line_start(first_line).unwrap_or(0);
            (start, first_line, start - line_start)
        } else {
            let l = first_line.saturating_sub(context_lines_before);
            (self.index.line_start(l).unwrap_or(0), l, 0)
        };
        let data_end = if context_lines_after == 0 {
            end
        } else {
            self.index
                .line_start(last_line + context_lines_after + 1)
                .unwrap_or(bytes.len())
        };
        let data_end = data_end.max(data_start);
        // the number of lines shown (miette merges two labels into one snippet when the first
        // one's lines reach the second's: an absolute line number here made a handler and its
        // registration 10 lines below one long snippet)
        let last_shown = self
            .index
            .line_of(data_end.saturating_sub(1).max(data_start));
        let line_count = last_shown.saturating_sub(line) + 1;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            &bytes[data_start..data_end],
            (data_start, data_end - data_start).into(),
            line,
            column,
            line_count,
        )))
    }
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(format!(
            "{}({})",
            self.finding.rule, self.finding.name
        )))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let f = self.finding;
        let primary_text = if f.label.is_empty() {
            None
        } else {
            Some(f.label.clone())
        };
        let primary =
            LabeledSpan::new_primary_with_span(primary_text, (f.location.offset, f.location.len));
        let same_file = f
            .related
            .iter()
            .filter(|r| r.location.file == f.location.file)
            .map(|r| {
                LabeledSpan::new_with_span(
                    Some(r.message.clone()),
                    (r.location.offset, r.location.len),
                )
            });
        Some(Box::new(std::iter::once(primary).chain(same_file)))
    }
}

/// Renders every finding, then a summary line.
pub fn render(outcome: &Outcome, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut sources: HashMap<Arc<str>, Option<Loaded>> = HashMap::new();
    let mut out = String::new();
    for f in &outcome.findings {
        let text = sources
            .entry(f.location.file.clone())
            .or_insert_with(|| {
                let text: Arc<str> =
                    Arc::from(std::fs::read_to_string(outcome.root.join(&*f.location.file)).ok()?);
                let index = Arc::new(LineIndex::new(&text));
                Some((text, index))
            })
            .clone();
        // A span past the end (the file changed since the scan) would make miette fail to
        // render; show the finding without a snippet then.
        let source = text
            .filter(|(t, _)| f.location.offset + f.location.len <= t.len())
            .map(|(text, index)| IndexedSource {
                name: f.location.file.clone(),
                text,
                index,
            });
        let mut help = f.help.clone();
        let elsewhere: Vec<String> = f
            .related
            .iter()
            .filter(|r| source.is_none() || r.location.file != f.location.file)
            .map(|r| {
                format!(
                    "{} at {}:{}:{}",
                    r.message, r.location.file, r.location.line, r.location.column
                )
            })
            .collect();
        if source.is_none() {
            out.push_str(&format!(
                "{}:{}:{}\n",
                f.location.file, f.location.line, f.location.column
            ));
        }
        if !elsewhere.is_empty() {
            let notes = elsewhere.join("\n");
            help = Some(match help {
                Some(h) => format!("{h}\n{notes}"),
                None => notes,
            });
        }
        let diag = Rendered {
            finding: f,
            source,
            help,
        };
        if handler.render_report(&mut out, &diag).is_err() {
            out.push_str(&format!(
                "{}: {} [{}]\n",
                f.location.file, f.message, f.rule
            ));
        }
        out.push('\n');
    }
    let (e, w, i) = counts(outcome);
    let files = plural(outcome.files_scanned, "file", "files");
    if outcome.findings.is_empty() {
        out.push_str(&format!("idemgate: no findings in {files}"));
    } else {
        out.push_str(&format!(
            "idemgate: {}, {}, {} in {files}",
            plural(e, "error", "errors"),
            plural(w, "warning", "warnings"),
            plural(i, "note", "notes"),
        ));
    }
    if outcome.suppressed > 0 {
        out.push_str(&format!(
            " ({} suppressed by exemptions)",
            outcome.suppressed
        ));
    }
    out.push('\n');
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
