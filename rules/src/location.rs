//! Source positions. Every fact and finding carries one; reporters never search for text.

use std::sync::Arc;

/// A span in one file. Lines and columns are 1-based (columns count characters, as SARIF and
/// editors do); `offset`/`len` are the byte range, which graphical reporters need.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Location {
    /// Path relative to the scan root, `/`-separated (what SARIF and GitHub want).
    pub file: Arc<str>,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    #[serde(skip)]
    pub offset: usize,
    #[serde(skip)]
    pub len: usize,
}

impl Location {
    /// The start of `file`: where a finding about the whole file points.
    pub fn file_start(file: Arc<str>) -> Location {
        Location {
            file,
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            offset: 0,
            len: 0,
        }
    }

    /// Whether `self` lies on the lines `start..=end` of `file`.
    pub fn within_lines(&self, file: &str, start: u32, end: u32) -> bool {
        &*self.file == file && self.line >= start && self.line <= end
    }
}

/// Maps between byte offsets and (line, column) in one text. Built once per file that has
/// something to report; cheap (one pass over newlines).
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = Vec::with_capacity(text.len() / 32 + 1);
        line_starts.push(0);
        line_starts.extend(memchr_newlines(text.as_bytes()));
        LineIndex { line_starts }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The 0-based line holding byte `offset` (the last line for offsets past the end).
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// The byte offset where 0-based `line` starts, `None` past the last line.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line).copied()
    }

    /// 1-based line and 1-based character column of a byte offset (clamped to the text).
    pub fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = clamp_to_char_boundary(text, offset);
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let col = text.get(start..offset).map_or(0, |s| s.chars().count());
        (to_u32(line + 1), to_u32(col + 1))
    }

    /// Byte offset of a 1-based line and 0-based character column (what `proc_macro2`
    /// span locations give), clamped to the text.
    pub fn offset(&self, text: &str, line: usize, column0: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return text.len();
        };
        let rest = text.get(start..).unwrap_or("");
        let mut off = start;
        for (n, (i, ch)) in rest.char_indices().enumerate() {
            if n == column0 || ch == '\n' {
                return start + i;
            }
            off = start + i + ch.len_utf8();
        }
        off
    }

    /// A full [`Location`] for the byte range `start..end` of `text`.
    pub fn location(&self, file: &Arc<str>, text: &str, start: usize, end: usize) -> Location {
        let start = clamp_to_char_boundary(text, start);
        let end = clamp_to_char_boundary(text, end.max(start));
        let (line, column) = self.line_col(text, start);
        let (end_line, end_column) = self.line_col(text, end);
        Location {
            file: file.clone(),
            line,
            column,
            end_line,
            end_column,
            offset: start,
            len: end - start,
        }
    }
}

fn memchr_newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
}

fn clamp_to_char_boundary(text: &str, mut offset: usize) -> usize {
    if offset >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_round_trip() {
        let text = "ab\nçd\n\nxyz";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 0), (1, 1));
        assert_eq!(idx.line_col(text, 3), (2, 1));
        // 'd' is after the two-byte 'ç': byte 5, character column 2
        assert_eq!(idx.line_col(text, 5), (2, 2));
        assert_eq!(idx.offset(text, 2, 1), 5);
        assert_eq!(idx.line_col(text, 8), (4, 1));
        assert_eq!(idx.offset(text, 99, 0), text.len());
        let file: Arc<str> = Arc::from("a.rs");
        let loc = idx.location(&file, text, 3, 6);
        assert_eq!(
            (loc.line, loc.column, loc.end_line, loc.end_column),
            (2, 1, 2, 3)
        );
    }
}
