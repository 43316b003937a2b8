//! Diagnostics: one model for syntax and runtime errors, rendered rustc-style.

pub mod files;
pub mod render;

use crate::syntax::span::Span;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stops the program (exit status 1).
    Error,
    /// Reported, but the program still succeeds.
    Warning,
}

/// One frame of a Zexus traceback: `in NAME, called at FILE:LINE:COL`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TraceFrame {
    /// The function that was running (`<anonymous>` for literals).
    pub function: String,
    /// Span of the call site in the caller (the call's `(`).
    pub call_site: Span,
}

/// A message about a place in the source.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A searchable code such as `E0101` (syntax) or `E0301` (runtime).
    pub code: &'static str,
    /// The headline, e.g. `syntax error: expected ')'` or `division by zero`.
    pub message: String,
    /// Where the caret goes.
    pub span: Span,
    /// Text printed beside the caret (may be empty).
    pub label: String,
    /// Extra `= note: ...` lines.
    pub notes: Vec<String>,
    /// Zexus call frames, outermost first, innermost last (runtime errors only).
    pub traceback: Vec<TraceFrame>,
}

impl Diagnostic {
    /// A new error with no label, notes or traceback.
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: String::new(),
            notes: Vec::new(),
            traceback: Vec::new(),
        }
    }

    /// Sets the caret label.
    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    /// Adds a note line.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
}
