//! Turning spans of an item parsed on its own back into file [`Location`]s.
//!
//! Items are parsed one by one from slices of the file, so proc-macro2 reports lines relative
//! to the slice; the slice's start line and column shift them back.

use std::sync::Arc;

use idemgate_rules::{LineIndex, Location};
use proc_macro2::Span;

pub struct Spanner<'a> {
    pub file: &'a Arc<str>,
    pub text: &'a str,
    pub index: &'a LineIndex,
    /// 1-based line of the slice start in the file.
    base_line: usize,
    /// 0-based character column of the slice start.
    base_col: usize,
}

impl<'a> Spanner<'a> {
    pub fn new(file: &'a Arc<str>, text: &'a str, index: &'a LineIndex, start: usize) -> Self {
        let (line, col) = index.line_col(text, start);
        Spanner {
            file,
            text,
            index,
            base_line: line as usize,
            base_col: (col as usize).saturating_sub(1),
        }
    }

    /// The file byte offset of a position in the slice.
    pub fn byte(&self, lc: proc_macro2::LineColumn) -> usize {
        self.offset(lc)
    }

    fn offset(&self, lc: proc_macro2::LineColumn) -> usize {
        let line = self.base_line + lc.line.saturating_sub(1);
        let col = if lc.line <= 1 {
            self.base_col + lc.column
        } else {
            lc.column
        };
        self.index.offset(self.text, line, col)
    }

    /// The location of one span.
    pub fn loc(&self, span: Span) -> Location {
        self.range(span, span)
    }

    /// From the start of `a` to the end of `b`.
    pub fn range(&self, a: Span, b: Span) -> Location {
        let start = self.offset(a.start());
        let end = self.offset(b.end());
        self.index
            .location(self.file, self.text, start, end.max(start))
    }

    /// A location for a byte range of the file.
    pub fn bytes(&self, start: usize, end: usize) -> Location {
        self.index.location(self.file, self.text, start, end)
    }

    /// The 1-based file line of a span's start and end.
    pub fn lines(&self, a: Span, b: Span) -> (u32, u32) {
        let s = a.start();
        let e = b.end();
        let l = |n: usize| u32::try_from(self.base_line + n.saturating_sub(1)).unwrap_or(u32::MAX);
        (l(s.line), l(e.line))
    }
}
