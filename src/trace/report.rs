//! The profile report: a [`Profile`] resolved against the program and its source (names,
//! lines, opcodes), as stable JSON (`zexus-tui profile --json`) and as a text table.
//!
//! JSON contract (`format_version` 1). Times are integer nanoseconds; every list is sorted
//! hottest first.
//!
//! - `format_version`, `file`, `outcome` (`finished`, `error`, `stopped` or `running`),
//!   `error` (message or null).
//! - `totals`: `instructions`, `calls` (user function calls), `gas`, `run_ns` (wall time of
//!   the run), `counted_instructions` (false if per-instruction counts were off).
//! - `phases`: `[{phase, ns}]` for `lex`, `parse`, `compile`, `optimize`, `link`.
//! - `functions`: `[{id, name, line, calls, inclusive_ns, exclusive_ns,
//!   inclusive_instructions, exclusive_instructions, inclusive_gas, exclusive_gas}]`, by
//!   `exclusive_ns`. Inclusive figures count only the outermost activation of a recursive
//!   function; `<main>` is the top level (one call).
//! - `lines`: `[{line, count, text}]`: instructions executed per source line (1-based).
//! - `instructions`: `[{function_id, function, pc, op, line, count}]`.
//! - `loops`: `[{function_id, function, loop_id, header_pc, header_line, text, iterations,
//!   hot, compiled, status, native_bytes, bailouts, entries, native_instructions}]`, by
//!   `iterations` (back-edges taken); `status` is `compiled`, `interpreted` (hot but not
//!   compiled) or `cold`. The field-by-field reference is docs/json.md.

use std::fmt::Write as _;

use serde::Serialize;

use super::event::RunOutcome;
use super::profile::Profile;
use crate::diag::files::{SourceFile, SourceFiles};
use crate::syntax::span::SourceMap;

/// `D:LINE` in a multi-file program, else `LINE`.
fn at(file: &Option<String>, line: u32) -> String {
    match file {
        Some(f) => format!("{f}:{line}"),
        None => line.to_string(),
    }
}
use crate::vm::program::Program;

/// Version of the JSON layout; bumped when a field changes meaning or disappears.
pub const FORMAT_VERSION: u32 = 1;

/// Run-wide figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Instructions executed.
    pub instructions: u64,
    /// User function calls.
    pub calls: u64,
    /// Gas used.
    pub gas: u64,
    /// Wall time of the run in nanoseconds.
    pub run_ns: u64,
    /// False when instructions were not counted one by one (lines and instructions empty).
    pub counted_instructions: bool,
    /// Entries into native code from the interpreter (a fuel exit and the run going on there
    /// is the same entry), summed over the loops; the JIT's own counter (`ProfileReport::set_jit`).
    pub jit_entries: u64,
    /// Exits from native code through a guard, an overflow check or an unsupported
    /// instruction, summed over the loops.
    pub jit_bailouts: u64,
    /// Bytecode instructions run as native code (included in `instructions`).
    pub native_instructions: u64,
}

/// One pipeline phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseRow {
    /// Phase name.
    pub phase: &'static str,
    /// Duration in nanoseconds.
    pub ns: u64,
}

/// One function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionRow {
    /// Function index in the program (0 is `<main>`).
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Line where the function is defined.
    pub line: u32,
    /// The file of the line, in a multi-file program (its display path; MODULES.md §14).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Times entered.
    pub calls: u64,
    /// Time in the function and its callees (outermost activations only).
    pub inclusive_ns: u64,
    /// Time in the function's own code.
    pub exclusive_ns: u64,
    /// Instructions in the function and its callees.
    pub inclusive_instructions: u64,
    /// The function's own instructions.
    pub exclusive_instructions: u64,
    /// Gas in the function and its callees.
    pub inclusive_gas: u64,
    /// The function's own gas.
    pub exclusive_gas: u64,
}

/// One source line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineRow {
    /// 1-based line number.
    pub line: u32,
    /// The file of the line, in a multi-file program (its display path; MODULES.md §14).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Instructions executed on it.
    pub count: u64,
    /// The line's text (trimmed).
    pub text: String,
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstrRow {
    /// Function index.
    pub function_id: u32,
    /// Function name.
    pub function: String,
    /// Instruction index in the function.
    pub pc: u32,
    /// Opcode name.
    pub op: &'static str,
    /// Source line.
    pub line: u32,
    /// The file of the line, in a multi-file program (its display path; MODULES.md §14).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Executions.
    pub count: u64,
}

/// One loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoopRow {
    /// Function index.
    pub function_id: u32,
    /// Function name.
    pub function: String,
    /// Index in the function's loop table.
    pub loop_id: u16,
    /// Pc of the loop header.
    pub header_pc: u32,
    /// Source line of the loop header.
    pub header_line: u32,
    /// The file of the line, in a multi-file program (its display path; MODULES.md §14).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Text of that line (trimmed).
    pub text: String,
    /// Back-edges taken.
    pub iterations: u64,
    /// True once the loop crossed the hot threshold.
    pub hot: bool,
    /// True if native code exists for it.
    pub compiled: bool,
    /// `compiled`, `interpreted` or `cold`.
    pub status: &'static str,
    /// Native code bytes (as reported by the JIT).
    pub native_bytes: u64,
    /// Exits from native code through a guard (the JIT's counter once `set_jit` ran).
    pub bailouts: u64,
    /// Entries into native code from the interpreter.
    pub entries: u64,
    /// Bytecode instructions run as native code.
    pub native_instructions: u64,
}

/// The JIT's figures for one loop, as `ProfileReport::set_jit` takes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopJitFigures {
    /// Function index.
    pub function_id: u32,
    /// Index in the function's loop table.
    pub loop_id: u16,
    /// Entries into native code.
    pub entries: u64,
    /// Bail-outs.
    pub bailouts: u64,
    /// Instructions run as native code.
    pub native_instructions: u64,
}

/// One row of the gas report: the external calls of one contract action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionRow {
    /// `Contract.action` (`Contract.<new>` for constructions).
    pub action: String,
    /// External calls.
    pub calls: u64,
    /// Of those, reverted.
    pub reverted: u64,
    /// Gas of all calls (implicit begin and commit included).
    pub gas: u64,
    /// Cheapest call.
    pub min_gas: u64,
    /// Mean per call.
    pub avg_gas: u64,
    /// Dearest call.
    pub max_gas: u64,
    /// Instructions of all calls.
    pub instructions: u64,
}

/// The gas report's rows, dearest first.
pub fn action_rows(costs: &super::actions::ActionCosts) -> Vec<ActionRow> {
    let mut rows: Vec<ActionRow> = costs
        .0
        .iter()
        .map(|(name, c)| ActionRow {
            action: name.clone(),
            calls: c.calls,
            reverted: c.reverted,
            gas: c.gas,
            min_gas: c.min_gas,
            avg_gas: c.gas / c.calls.max(1),
            max_gas: c.max_gas,
            instructions: c.instructions,
        })
        .collect();
    rows.sort_by(|a, b| b.gas.cmp(&a.gas).then(a.action.cmp(&b.action)));
    rows
}

/// The gas report as text (the rows of `stats` and `profile`).
pub fn render_action_rows(out: &mut String, rows: &[ActionRow], top: usize) {
    let name_w = rows.iter().map(|r| r.action.chars().count()).max().unwrap_or(0).max(8);
    let _ = writeln!(
        out,
        "  {:<name_w$} {:>6} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "action", "calls", "reverted", "gas", "min", "avg", "max", "instrs"
    );
    for r in rows.iter().take(top) {
        let _ = writeln!(
            out,
            "  {:<name_w$} {:>6} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8}",
            r.action, r.calls, r.reverted, r.gas, r.min_gas, r.avg_gas, r.max_gas, r.instructions
        );
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileReport {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The zexus-tui version that wrote it (as the trace formats carry it).
    pub version: &'static str,
    /// The program's path as given.
    pub file: String,
    /// `finished`, `error`, `stopped` or `running`.
    pub outcome: &'static str,
    /// The runtime error's message, if any.
    pub error: Option<String>,
    /// Run-wide figures.
    pub totals: Totals,
    /// Pipeline phases.
    pub phases: Vec<PhaseRow>,
    /// Functions, by exclusive time.
    pub functions: Vec<FunctionRow>,
    /// Source lines, by instructions executed.
    pub lines: Vec<LineRow>,
    /// Instructions, by executions.
    pub instructions: Vec<InstrRow>,
    /// Loops, by iterations.
    pub loops: Vec<LoopRow>,
    /// The gas report: per contract action, its external calls, by gas.
    pub actions: Vec<ActionRow>,
}

impl ProfileReport {
    /// Resolves `profile` against the program it was taken from and its source text.
    pub fn new(profile: &Profile, program: &Program, src: &str, file: &str) -> ProfileReport {
        let one = SourceFiles {
            files: vec![SourceFile { text: src.to_string(), display: file.to_string(), ..SourceFile::default() }],
        };
        ProfileReport::new_in(profile, program, &one, file)
    }

    /// [`ProfileReport::new`] for a program of several files: lines are lines of their own
    /// file, and every row names its file (MODULES.md §14).
    pub fn new_in(profile: &Profile, program: &Program, sources: &SourceFiles, file: &str) -> ProfileReport {
        let maps: Vec<SourceMap> = sources.files.iter().map(|f| SourceMap::new(&f.text)).collect();
        let many = sources.files.len() > 1;
        // (file index, 1-based line) of a program offset.
        let place = |offset: u32| {
            let i = sources.file_of(offset);
            let base = sources.files.get(i).map_or(0, |f| f.base);
            let line = maps.get(i).map_or(0, |m| m.line_index(offset.saturating_sub(base)) as u32 + 1);
            (i, line)
        };
        let file_name = |i: usize| many.then(|| sources.files.get(i).map_or(String::new(), |f| f.display.clone()));
        let line_of = |offset: u32| place(offset).1;
        let text_in = |i: usize, line: u32| match (sources.files.get(i), maps.get(i)) {
            (Some(f), Some(m)) => m.line_text(&f.text, line.saturating_sub(1) as usize).trim().to_string(),
            _ => String::new(),
        };
        let name_of = |id: u32| program.protos.get(id as usize).map_or("?", |p| p.display_name()).to_string();

        let mut functions = Vec::new();
        let mut instructions = Vec::new();
        let mut line_counts: std::collections::BTreeMap<(usize, u32), u64> = std::collections::BTreeMap::new();
        for (id, f) in profile.functions.iter().enumerate() {
            let id = id as u32;
            let proto = program.protos.get(id as usize);
            if f.calls > 0 {
                functions.push(FunctionRow {
                    id,
                    name: name_of(id),
                    line: proto.map_or(0, |p| line_of(p.span.start)),
                    file: file_name(proto.map_or(0, |p| place(p.span.start).0)),
                    calls: f.calls,
                    inclusive_ns: f.inclusive.ns,
                    exclusive_ns: f.exclusive.ns,
                    inclusive_instructions: f.inclusive.instructions,
                    exclusive_instructions: f.exclusive.instructions,
                    inclusive_gas: f.inclusive.gas,
                    exclusive_gas: f.exclusive.gas,
                });
            }
            for (pc, &count) in f.pc_counts.iter().enumerate() {
                if count == 0 {
                    continue;
                }
                let (fi, line) = proto.and_then(|p| p.spans.get(pc)).map_or((0, 0), |s| place(s.start));
                *line_counts.entry((fi, line)).or_default() += count;
                let op = proto.and_then(|p| p.code.get(pc)).map_or("?", |op| op.name());
                let file = file_name(fi);
                instructions.push(InstrRow {
                    function_id: id,
                    function: name_of(id),
                    pc: pc as u32,
                    op,
                    line,
                    file,
                    count,
                });
            }
        }
        functions.sort_by(|a, b| {
            (b.exclusive_ns, b.exclusive_instructions, b.calls).cmp(&(
                a.exclusive_ns,
                a.exclusive_instructions,
                a.calls,
            ))
        });
        instructions.sort_by(|a, b| b.count.cmp(&a.count).then((a.function_id, a.pc).cmp(&(b.function_id, b.pc))));
        let mut lines: Vec<LineRow> = line_counts
            .into_iter()
            .map(|((fi, line), count)| LineRow { line, file: file_name(fi), count, text: text_in(fi, line) })
            .collect();
        lines.sort_by(|a, b| b.count.cmp(&a.count).then((&a.file, a.line).cmp(&(&b.file, b.line))));

        let mut loops = Vec::new();
        for proto in &program.protos {
            for (i, (info, counter)) in proto.loops.iter().zip(&proto.loop_counters).enumerate() {
                let loop_id = i as u16;
                let seen = profile.loops.get(&(proto.id, loop_id)).cloned().unwrap_or_default();
                // The back-edge's execution count is exact also while the loop ran as native
                // code, which the interpreter's counter does not see.
                let back_edges = profile
                    .functions
                    .get(proto.id as usize)
                    .and_then(|f| f.pc_counts.get(info.back_edge as usize))
                    .copied()
                    .unwrap_or(0);
                let iterations = counter.iterations.get().max(back_edges);
                let hot = counter.decided.get() || seen.hot_at.is_some();
                let compiled = counter.compiled.get() || seen.compiled == Some(true);
                if iterations == 0 && !hot {
                    continue;
                }
                let (fi, header_line) = proto.spans.get(info.header as usize).map_or((0, 0), |s| place(s.start));
                loops.push(LoopRow {
                    function_id: proto.id,
                    function: proto.display_name().to_string(),
                    loop_id,
                    header_pc: info.header,
                    header_line,
                    file: file_name(fi),
                    text: text_in(fi, header_line),
                    iterations,
                    hot,
                    compiled,
                    status: if compiled {
                        "compiled"
                    } else if hot {
                        "interpreted"
                    } else {
                        "cold"
                    },
                    native_bytes: seen.native_bytes,
                    bailouts: seen.bailouts,
                    entries: 0,
                    native_instructions: 0,
                });
            }
        }
        loops.sort_by(|a, b| {
            b.iterations.cmp(&a.iterations).then((a.function_id, a.loop_id).cmp(&(b.function_id, b.loop_id)))
        });

        let outcome = match profile.outcome {
            Some(RunOutcome::Finished) => "finished",
            Some(RunOutcome::Error) => "error",
            Some(RunOutcome::Stopped) => "stopped",
            None => "running",
        };
        let calls = profile.functions.iter().skip(1).map(|f| f.calls).sum();
        ProfileReport {
            format_version: FORMAT_VERSION,
            version: env!("CARGO_PKG_VERSION"),
            file: file.to_string(),
            outcome,
            error: profile.error.clone(),
            totals: Totals {
                instructions: profile.instructions,
                calls,
                gas: profile.gas,
                run_ns: profile.run_ns,
                counted_instructions: profile.counted_instructions,
                jit_entries: 0,
                jit_bailouts: loops.iter().map(|l| l.bailouts).sum(),
                native_instructions: 0,
            },
            phases: profile.phases.iter().map(|&(phase, ns)| PhaseRow { phase: phase.name(), ns }).collect(),
            functions,
            lines,
            instructions,
            loops,
            actions: action_rows(&profile.actions),
        }
    }

    /// Takes the JIT's entries, bail-outs and native instructions for each loop (the one set
    /// of figures `stats`, `dis --jit`, `snapshot` and the TUI show) and the totals over them.
    pub fn set_jit(&mut self, figures: &[LoopJitFigures]) {
        for l in &mut self.loops {
            let f = figures.iter().find(|f| (f.function_id, f.loop_id) == (l.function_id, l.loop_id));
            let f = f.copied().unwrap_or_default();
            (l.entries, l.bailouts, l.native_instructions) = (f.entries, f.bailouts, f.native_instructions);
        }
        self.totals.jit_entries = figures.iter().map(|f| f.entries).sum();
        self.totals.jit_bailouts = figures.iter().map(|f| f.bailouts).sum();
        self.totals.native_instructions = figures.iter().map(|f| f.native_instructions).sum();
    }

    /// The report as a text table, showing at most `top` rows per section.
    pub fn render_text(&self, top: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "== profile: {} ==", self.file);
        let _ = writeln!(
            out,
            "run: {}, {} instructions, {} calls, gas {}, {}",
            self.outcome,
            self.totals.instructions,
            self.totals.calls,
            self.totals.gas,
            fmt_ms(self.totals.run_ns)
        );
        if let Some(err) = &self.error {
            let _ = writeln!(out, "error: {err}");
        }
        let t = &self.totals;
        if t.jit_entries > 0 || t.native_instructions > 0 || t.jit_bailouts > 0 {
            let _ = writeln!(
                out,
                "jit: {} entries, {} bail-outs, {} instructions native",
                t.jit_entries, t.jit_bailouts, t.native_instructions
            );
        }
        if !self.phases.is_empty() {
            let parts: Vec<String> = self.phases.iter().map(|p| format!("{} {}", p.phase, fmt_ms(p.ns))).collect();
            let _ = writeln!(out, "phases: {}", parts.join(", "));
        }

        let _ = writeln!(out, "\nTop functions (by self time)");
        let name_w = self.functions.iter().take(top).map(|f| f.name.chars().count()).max().unwrap_or(0).max(8);
        let _ = writeln!(
            out,
            "  {:<name_w$} {:>10} {:>12} {:>12} {:>7} {:>14} {:>6}",
            "function", "calls", "incl ms", "self ms", "self %", "self instrs", "line"
        );
        let run = self.totals.run_ns.max(1) as f64;
        for f in self.functions.iter().take(top) {
            let instrs =
                if self.totals.counted_instructions { f.exclusive_instructions.to_string() } else { "-".to_string() };
            let _ = writeln!(
                out,
                "  {:<name_w$} {:>10} {:>12.3} {:>12.3} {:>6.1}% {:>14} {:>6}",
                f.name,
                f.calls,
                f.inclusive_ns as f64 / 1e6,
                f.exclusive_ns as f64 / 1e6,
                100.0 * f.exclusive_ns as f64 / run,
                instrs,
                at(&f.file, f.line)
            );
        }

        if self.totals.counted_instructions {
            let total = self.totals.instructions.max(1) as f64;
            let _ = writeln!(out, "\nHottest lines");
            let _ = writeln!(out, "  {:>6} {:>12} {:>6}  source", "line", "instrs", "%");
            for l in self.lines.iter().take(top) {
                let pct = 100.0 * l.count as f64 / total;
                let _ = writeln!(out, "  {:>6} {:>12} {:>5.1}%  {}", at(&l.file, l.line), l.count, pct, l.text);
            }
            let _ = writeln!(out, "\nHottest instructions");
            let fn_w = self.instructions.iter().take(top).map(|i| i.function.chars().count()).max().unwrap_or(0).max(8);
            let _ = writeln!(out, "  {:>12}  {:<fn_w$} {:>5}  {:<16} {:>6}", "count", "function", "pc", "op", "line");
            for i in self.instructions.iter().take(top) {
                let _ = writeln!(
                    out,
                    "  {:>12}  {:<fn_w$} {:>5}  {:<16} {:>6}",
                    i.count,
                    i.function,
                    i.pc,
                    i.op,
                    at(&i.file, i.line)
                );
            }
        } else {
            let _ = writeln!(out, "\n(instruction counts off: no per-line or per-instruction figures)");
        }

        // The gas report (CONTRACTS.md §12): external calls per contract action; internal
        // calls count in the action that made them.
        if !self.actions.is_empty() {
            let _ = writeln!(out, "\nGas per contract action (external calls, implicit begin and commit included)");
            render_action_rows(&mut out, &self.actions, top);
        }

        let _ = writeln!(out, "\nHot loops");
        if self.loops.is_empty() {
            let _ = writeln!(out, "  (no loop iterated)");
        } else {
            let _ = writeln!(
                out,
                "  {:<12} {:>4} {:>6} {:>12}  {:<11} {:>7} {:>9} {:>12}  source",
                "function", "loop", "line", "iterations", "status", "entries", "bail-outs", "native"
            );
            for l in self.loops.iter().take(top) {
                let _ = writeln!(
                    out,
                    "  {:<12} {:>4} {:>6} {:>12}  {:<11} {:>7} {:>9} {:>12}  {}",
                    l.function,
                    l.loop_id,
                    at(&l.file, l.header_line),
                    l.iterations,
                    l.status,
                    l.entries,
                    l.bailouts,
                    l.native_instructions,
                    l.text
                );
            }
        }
        out
    }
}

fn fmt_ms(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}
