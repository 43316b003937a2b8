//! Renders diagnostics rustc-style, as plain text, with `annotate-snippets`.
//!
//! The output shape (LANGUAGE.md section 7) is:
//!
//! ```text
//! error: division by zero
//!  --> example.zx:3:9
//!   |
//! 3 | print(a / 0)
//!   |         ^
//! ```
//!
//! followed by `= note: ...` lines and, for runtime errors, one traceback line per frame.
//! Only the offending line is handed to `annotate-snippets`; the ` --> FILE:LINE:COL` line is
//! computed here so that columns always count Unicode scalar values (a tab is one column).

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

use super::{Diagnostic, Severity};
use crate::syntax::span::SourceMap;

/// Tracebacks longer than this are shortened to their first and last frames.
const MAX_FRAMES: usize = 20;

/// Frames kept at each end of a shortened traceback.
const KEPT_FRAMES: usize = 10;

/// Renders one diagnostic about `src` (read from `path`) as plain text ending in a newline.
///
/// Never panics, whatever the span: spans past the end are clamped, spans that split a
/// character are widened to whole characters, and spans over several lines are cut at the
/// end of their first line.
pub fn render(diag: &Diagnostic, path: &str, src: &str) -> String {
    let map = SourceMap::new(src);
    let (line_idx, start, end) = clamp_span(&map, src, diag.span.start as usize, diag.span.end as usize);
    let (line_start, _) = map.line_range(src, line_idx);
    let line_text = map.line_text(src, line_idx);
    let pos = map.line_col(src, start as u32);
    let location = format!("{path}:{}:{}", pos.line, pos.col);

    let level = match diag.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let mut annotation = AnnotationKind::Primary.span(start - line_start..end - line_start);
    if !diag.label.is_empty() {
        annotation = annotation.label(diag.label.as_str());
    }
    let snippet =
        Snippet::source(line_text).line_start(line_idx + 1).path(location.as_str()).fold(false).annotation(annotation);
    let mut group = level.primary_title(diag.message.as_str()).element(snippet);
    for note in &diag.notes {
        group = group.element(Level::NOTE.message(note.as_str()));
    }
    let rendered = Renderer::plain().render(&[group]);

    let mut out = fix_location_line(&rendered, &location);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    render_traceback(&mut out, diag, path, src, &map);
    out
}

/// Renders several diagnostics, separated by blank lines.
pub fn render_all(diags: &[Diagnostic], path: &str, src: &str) -> String {
    let mut out = String::new();
    for (i, diag) in diags.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&render(diag, path, src));
    }
    out
}

/// Clamps a byte span to `src`, to character boundaries and to its first line.
///
/// Returns the 0-based line index and the clamped `start..end` in bytes.
fn clamp_span(map: &SourceMap, src: &str, start: usize, end: usize) -> (usize, usize, usize) {
    let mut start = start.min(src.len());
    while !src.is_char_boundary(start) {
        start -= 1;
    }
    let line_idx = map.line_index(start as u32);
    let (line_start, line_end) = map.line_range(src, line_idx);
    // A span starting on a line's `\r` or `\n` points just past the line's text.
    let start = start.clamp(line_start, line_end);
    let mut end = end.max(start).min(line_end);
    while !src.is_char_boundary(end) {
        end += 1;
    }
    (line_idx, start, end.min(line_end).max(start))
}

/// Replaces the ` --> ...` line of `annotate-snippets` with our own `location`.
fn fix_location_line(rendered: &str, location: &str) -> String {
    let mut out = String::with_capacity(rendered.len() + 16);
    let mut fixed = false;
    for line in rendered.lines() {
        let trimmed = line.trim_start();
        if !fixed && trimmed.starts_with("--> ") {
            let indent = &line[..line.len() - trimmed.len()];
            out.push_str(indent);
            out.push_str("--> ");
            out.push_str(location);
            fixed = true;
        } else {
            out.push_str(line.trim_end());
        }
        out.push('\n');
    }
    out
}

/// Appends `  in NAME, called at FILE:LINE:COL` lines, eliding the middle of long tracebacks.
fn render_traceback(out: &mut String, diag: &Diagnostic, path: &str, src: &str, map: &SourceMap) {
    let frames = &diag.traceback;
    let n = frames.len();
    for (i, frame) in frames.iter().enumerate() {
        if n > MAX_FRAMES && i >= KEPT_FRAMES && i < n - KEPT_FRAMES {
            if i == KEPT_FRAMES {
                out.push_str(&format!("  ... {} more frames ...\n", n - 2 * KEPT_FRAMES));
            }
            continue;
        }
        let offset = (frame.call_site.start as usize).min(src.len()) as u32;
        let pos = map.line_col(src, offset);
        out.push_str(&format!("  in {}, called at {path}:{}:{}\n", frame.function, pos.line, pos.col));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::TraceFrame;
    use crate::syntax::span::Span;

    fn diag(start: u32, end: u32, message: &str, label: &str) -> Diagnostic {
        Diagnostic::error("E0301", message, Span { start, end }).with_label(label)
    }

    /// Renders one diagnostic about `src` against an inline snapshot.
    macro_rules! check {
        ($diag:expr, $src:expr, @$expect:literal) => {
            insta::assert_snapshot!(render(&$diag, "example.zx", $src), @$expect)
        };
    }

    #[test]
    fn spec_example() {
        let src = "let a = 10\nprint(\"before\")\nprint(a / 0)\n";
        let at = src.find("/ 0").unwrap_or(0) as u32;
        check!(diag(at, at + 1, "division by zero", ""), src, @r"
        error: division by zero
         --> example.zx:3:9
          |
        3 | print(a / 0)
          |         ^
        ");
    }

    #[test]
    fn label_notes_and_wide_span() {
        let src = "let total = price * count\n";
        let d = diag(12, 25, "type error: cannot multiply", "here").with_note("both operands must be numbers");
        check!(d, src, @r"
        error: type error: cannot multiply
         --> example.zx:1:13
          |
        1 | let total = price * count
          |             ^^^^^^^^^^^^^ here
          |
          = note: both operands must be numbers
        ");
    }

    #[test]
    fn warning_header() {
        let mut d = diag(0, 5, "1 open transaction(s) reverted at end of program", "");
        d.severity = Severity::Warning;
        check!(d, "STATE[\"k\"] = 1", @r#"
        warning: 1 open transaction(s) reverted at end of program
         --> example.zx:1:1
          |
        1 | STATE["k"] = 1
          | ^^^^^
        "#);
    }

    #[test]
    fn columns_count_chars_tabs_and_crlf() {
        let src = "x = 1\r\n\t\"é\" + @\r\n";
        let at = src.find('@').unwrap_or(0) as u32;
        let out = render(&diag(at, at + 1, "syntax error: unexpected character '@'", ""), "f.zx", src);
        assert!(out.contains(" --> f.zx:2:8\n"), "{out}");
        assert!(!out.contains('\r'), "{out}");
    }

    #[test]
    fn never_panics_on_odd_spans() {
        let cases: &[(&str, u32, u32)] = &[
            ("", 0, 0),
            ("", 5, 9),
            ("print(1)", 8, 8),
            ("print(1)", 100, 200),
            ("a\nb", 2, 50),
            ("héllo", 2, 3),
            ("x\r\n", 1, 2),
            ("\n\n", 1, 1),
            ("a", 1, 0),
        ];
        for &(src, start, end) in cases {
            let out = render(&diag(start, end, "syntax error: boom", "l"), "p.zx", src);
            assert!(out.starts_with("error: syntax error: boom\n"), "{out}");
        }
    }

    #[test]
    fn end_of_line_caret() {
        check!(diag(11, 11, "syntax error: expected ')' to close '(', found end of file", "expected ')'"), "print(fib(n", @r"
        error: syntax error: expected ')' to close '(', found end of file
         --> example.zx:1:12
          |
        1 | print(fib(n
          |            ^ expected ')'
        ");
    }

    #[test]
    fn traceback_is_elided_past_twenty_frames() {
        let src = "f()\n";
        let mut d = diag(0, 1, "stack overflow", "");
        d.traceback =
            (0..25).map(|i| TraceFrame { function: format!("f{i}"), call_site: Span { start: 1, end: 2 } }).collect();
        let out = render(&d, "t.zx", src);
        let tail: Vec<&str> = out.lines().skip(5).collect();
        insta::assert_snapshot!(tail.join("\n"), @r"
          in f0, called at t.zx:1:2
          in f1, called at t.zx:1:2
          in f2, called at t.zx:1:2
          in f3, called at t.zx:1:2
          in f4, called at t.zx:1:2
          in f5, called at t.zx:1:2
          in f6, called at t.zx:1:2
          in f7, called at t.zx:1:2
          in f8, called at t.zx:1:2
          in f9, called at t.zx:1:2
          ... 5 more frames ...
          in f15, called at t.zx:1:2
          in f16, called at t.zx:1:2
          in f17, called at t.zx:1:2
          in f18, called at t.zx:1:2
          in f19, called at t.zx:1:2
          in f20, called at t.zx:1:2
          in f21, called at t.zx:1:2
          in f22, called at t.zx:1:2
          in f23, called at t.zx:1:2
          in f24, called at t.zx:1:2
        ");
    }

    #[test]
    fn render_all_separates_with_blank_lines() {
        let src = "a\nb\n";
        let out = render_all(&[diag(0, 1, "one", ""), diag(2, 3, "two", "")], "x.zx", src);
        assert!(out.contains("  |     ^\n\nerror: two\n") || out.contains("^\n\nerror: two\n"), "{out}");
    }
}
