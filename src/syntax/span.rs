//! Byte-offset spans and the source map that turns them into `line:col`.

/// A half-open byte range `start..end` into one source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Span {
    /// First byte of the range.
    pub start: u32,
    /// One past the last byte of the range.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end` (byte offsets).
    pub fn new(start: usize, end: usize) -> Span {
        Span { start: clamp_u32(start), end: clamp_u32(end.max(start)) }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// This span moved by `delta` bytes (used to make spans unit-relative and back).
    pub fn shifted(self, delta: i64) -> Span {
        let shift = |x: u32| clamp_u32((x as i64 + delta).max(0) as usize);
        Span { start: shift(self.start), end: shift(self.end) }
    }

    /// Length in bytes.
    pub fn len(self) -> u32 {
        self.end - self.start
    }

    /// True for a zero-length span.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

fn clamp_u32(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

/// A resolved position: 1-based line and column (columns count Unicode scalar values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, in Unicode scalar values.
    pub col: u32,
}

/// Maps byte offsets of one source text to lines and columns.
#[derive(Debug, Clone)]
pub struct SourceMap {
    line_starts: Vec<u32>,
}

impl SourceMap {
    /// Indexes the line starts of `src`.
    pub fn new(src: &str) -> SourceMap {
        let mut line_starts = vec![0u32];
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(clamp_u32(i + 1));
            }
        }
        SourceMap { line_starts }
    }

    /// Number of lines in the source (a trailing newline does not start a new line).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// 0-based line index containing byte `offset`.
    pub fn line_index(&self, offset: u32) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Byte range of 0-based line `idx`, without its line terminator.
    pub fn line_range(&self, src: &str, idx: usize) -> (usize, usize) {
        let start = self.line_starts.get(idx).copied().unwrap_or(0) as usize;
        let mut end = self.line_starts.get(idx + 1).map(|&e| e as usize - 1).unwrap_or(src.len());
        end = end.min(src.len());
        let bytes = src.as_bytes();
        if end > start && bytes.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        (start.min(end), end)
    }

    /// The text of 0-based line `idx`, without its terminator.
    pub fn line_text<'a>(&self, src: &'a str, idx: usize) -> &'a str {
        let (s, e) = self.line_range(src, idx);
        src.get(s..e).unwrap_or("")
    }

    /// Line and column of byte `offset` in `src`.
    pub fn line_col(&self, src: &str, offset: u32) -> LineCol {
        let idx = self.line_index(offset);
        let start = self.line_starts[idx] as usize;
        let off = (offset as usize).min(src.len());
        let col = src.get(start..off).map(|s| s.chars().count()).unwrap_or(0);
        LineCol { line: idx as u32 + 1, col: col as u32 + 1 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars() {
        let src = "ab\nhé x\n";
        let map = SourceMap::new(src);
        assert_eq!(map.line_col(src, 0), LineCol { line: 1, col: 1 });
        let x = src.find('x').unwrap() as u32;
        assert_eq!(map.line_col(src, x), LineCol { line: 2, col: 4 });
        assert_eq!(map.line_text(src, 1), "hé x");
    }
}
