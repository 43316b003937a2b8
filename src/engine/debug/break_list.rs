//! The debugger's breakpoint list as the views show it (gdb's `info breakpoints`): every line
//! breakpoint with its options and hit count, and every watchpoint with its last value. A
//! disabled entry is kept by the caller (the TUI's VM thread) and listed with `enabled` false.

use super::{BreakOptions, Debugger, Watched};
use crate::engine::snapshot::{BreakRow, Breakpoint};

impl Debugger {
    /// The list, line breakpoints (in file and line order) first, then watchpoints in the
    /// order they were set.
    pub fn break_rows(&self) -> Vec<BreakRow> {
        let lines = self.breakpoints().map(|bp| line_row(self, *bp, &self.break_options(bp), true));
        let watches = self.watches().map(|(what, last)| watch_row(what, last, true));
        lines.chain(watches).collect()
    }
}

/// The row of line breakpoint `bp` with `options`.
pub fn line_row(debugger: &Debugger, bp: Breakpoint, options: &BreakOptions, enabled: bool) -> BreakRow {
    let place = match bp {
        Breakpoint::Line { file: 0, line } => format!("line {line}"),
        Breakpoint::Line { file, line } => {
            let files = debugger.session().files();
            let display = files.files.get(file as usize).map_or("?", |f| f.display.as_str());
            format!("{display}:{line}")
        }
        Breakpoint::Instruction { function, pc } => format!("function {function} pc {pc}"),
    };
    let hits = if enabled { debugger.break_hits(&bp) } else { 0 };
    BreakRow { line: Some(bp), watch: None, what: format!("{place}{}", options.describe()), hits, enabled }
}

/// The row of watchpoint `what`, which last saw `last`.
pub fn watch_row(what: &Watched, last: Option<&str>, enabled: bool) -> BreakRow {
    let name = what.describe();
    let value = last.map_or("(unset)".to_string(), str::to_string);
    BreakRow { line: None, watch: Some(name.clone()), what: format!("watch {name} = {value}"), hits: 0, enabled }
}
