//! The files of a multi-file program as diagnostics see them: each file occupies its own
//! range of offsets (`base..base + len`), so a span names its file. Rendering picks the file
//! of the caret, names it by display path, and writes tracebacks with qualified names and
//! `<module D>, imported at` frames (MODULES.md §13).

use super::Diagnostic;
use super::render::render;
use crate::syntax::span::{SourceMap, Span};

/// One file.
#[derive(Debug, Clone, Default)]
pub struct SourceFile {
    /// `N(F)` (`""` for the main file).
    pub name: String,
    /// `D(F)`.
    pub display: String,
    /// Its text.
    pub text: String,
    /// Its first offset.
    pub base: u32,
}

/// Every file of a program, the main file first.
#[derive(Debug, Clone, Default)]
pub struct SourceFiles {
    /// The files, in load order.
    pub files: Vec<SourceFile>,
}

impl SourceFiles {
    /// The index of the file that holds `offset`.
    pub fn file_of(&self, offset: u32) -> usize {
        self.files.iter().rposition(|f| f.base <= offset).unwrap_or(0)
    }

    /// `D:LINE:COL` of `offset`.
    pub fn position(&self, offset: u32) -> String {
        let Some(f) = self.files.get(self.file_of(offset)) else { return String::new() };
        let map = SourceMap::new(&f.text);
        let pos = map.line_col(&f.text, offset.saturating_sub(f.base));
        format!("{}:{}:{}", f.display, pos.line, pos.col)
    }

    /// The qualified name of a function written at `offset` (§13.3): the plain name in the
    /// main file, `name@D` in module `D`, `<module D>` for a module's top level.
    pub fn qualified(&self, name: &str, offset: u32) -> String {
        let idx = self.file_of(offset);
        let display = self.files.get(idx).map_or("", |f| f.display.as_str());
        if name == "<module>" {
            format!("<module {display}>")
        } else if idx == 0 || self.files.len() < 2 || name.contains('@') || name.starts_with("<module ") {
            name.to_string()
        } else {
            format!("{name}@{display}")
        }
    }

    /// The first diagnostic in one line, `D:LINE:COL: message` (status lines).
    pub fn summary(&self, diags: &[Diagnostic]) -> String {
        let Some(d) = diags.first() else { return "error".to_string() };
        if self.files.is_empty() {
            return d.message.clone();
        }
        format!("{}: {}", self.position(d.span.start), d.message)
    }

    /// Renders diagnostics, separated by blank lines.
    pub fn render_all(&self, diags: &[Diagnostic]) -> String {
        let mut out = String::new();
        for (i, d) in diags.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&self.render(d));
        }
        out
    }

    /// Renders one diagnostic in the file of its caret.
    pub fn render(&self, diag: &Diagnostic) -> String {
        let idx = self.file_of(diag.span.start);
        let Some(f) = self.files.get(idx) else { return render(diag, "", "") };
        let mut local = diag.clone();
        local.span = Span { start: diag.span.start - f.base, end: diag.span.end.saturating_sub(f.base) };
        local.traceback.clear();
        let mut out = render(&local, &f.display, &f.text);
        let frames = &diag.traceback;
        for (i, frame) in frames.iter().enumerate() {
            // A frame's function runs in the file of the next frame's call site (or the error).
            let inner = frames.get(i + 1).map_or(diag.span.start, |next| next.call_site.start);
            let name = self.qualified(&frame.function, inner);
            let verb = if name.starts_with("<module ") { "imported" } else { "called" };
            out.push_str(&format!("  in {name}, {verb} at {}\n", self.position(frame.call_site.start)));
        }
        out
    }
}
