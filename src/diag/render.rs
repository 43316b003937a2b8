//! Renders diagnostics rustc-style (temporary renderer until the syntax branch lands).

use super::Diagnostic;
use crate::syntax::span::SourceMap;

/// Renders one diagnostic.
pub fn render(diag: &Diagnostic, path: &str, src: &str) -> String {
    let map = SourceMap::new(src);
    let lc = map.line_col(src, diag.span.start);
    let sev = match diag.severity {
        super::Severity::Error => "error",
        super::Severity::Warning => "warning",
    };
    let line = map.line_text(src, lc.line as usize - 1);
    let gutter = lc.line.to_string().len();
    let pad = " ".repeat(gutter);
    let mut out = format!(
        "{sev}: {}\n{pad}--> {path}:{}:{}\n{pad} |\n{} | {line}\n{pad} | {}^\n",
        diag.message,
        lc.line,
        lc.col,
        lc.line,
        " ".repeat(lc.col as usize - 1)
    );
    for f in &diag.traceback {
        let c = map.line_col(src, f.call_site.start);
        out.push_str(&format!(
            "  in {}, called at {path}:{}:{}\n",
            f.function, c.line, c.col
        ));
    }
    out
}

/// Renders several diagnostics.
pub fn render_all(diags: &[Diagnostic], path: &str, src: &str) -> String {
    diags
        .iter()
        .map(|d| render(d, path, src))
        .collect::<Vec<_>>()
        .join("\n")
}
