//! Renders diagnostics rustc-style (filled in by the syntax work).
