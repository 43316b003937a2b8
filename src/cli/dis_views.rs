//! `dis --counts` and `dis --by-pass`: the debugger's per-instruction views, headless.
//!
//! `--counts` runs the program (its output discarded) with exact execution counts on, as the
//! debugger does, and prints both listings with the times each instruction ran (an
//! unoptimized instruction shows the count of the instruction it became; `·` where it was
//! removed or folded away), then the times each source line ran. `--passes` prints, for each
//! optimizer pass, what it changed in each function, as a diff of the listing before and
//! after it. Both print from the same `SessionSnapshot` the TUI draws.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use super::RunOpts;
use crate::bytecode::disasm::format_row;
use crate::compile::optimize::report::{format_row_without_pc, unified_diff};
use crate::engine::Session;
use crate::engine::snapshot::{FunctionInfo, ProfileView, SessionSnapshot};
use crate::vm::interp::Halt;

/// Runs `dis --counts FILE`.
pub fn cmd_dis_counts(file: &std::path::Path, opts: &RunOpts) -> ExitCode {
    let main = match super::module_fs::load_main(file) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (path, src) = (main.path.clone(), main.src.clone());
    let mut session = match Session::builder(&src)
        .program_opt(main.program.clone())
        .name(&path)
        .options(&opts.options())
        .capture_output()
        .build()
    {
        Ok(s) => s,
        Err(diags) => return main.report(&diags),
    };
    session.enable_exec_counts();
    let halt = session.run_to_end();
    let mut text = render_counts(&session.snapshot());
    if let Halt::Error(e) = &halt {
        let _ = writeln!(text, "note: the program stopped with an error: {}", e.message);
    }
    let _ = std::io::stdout().lock().write_all(crate::sanitize::clean_lines(&text).as_bytes());
    ExitCode::SUCCESS
}

/// Runs `dis --by-pass FILE`.
pub fn cmd_dis_passes(file: &std::path::Path, opts: &RunOpts) -> ExitCode {
    let main = match super::module_fs::load_main(file) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (path, src) = (main.path.clone(), main.src.clone());
    let session = match Session::builder(&src)
        .program_opt(main.program.clone())
        .name(&path)
        .options(&opts.options())
        .capture_output()
        .build()
    {
        Ok(s) => s,
        Err(diags) => return main.report(&diags),
    };
    let text = render_passes(&session.snapshot());
    let _ = std::io::stdout().lock().write_all(crate::sanitize::clean_lines(&text).as_bytes());
    ExitCode::SUCCESS
}

fn count_text(n: Option<u64>) -> String {
    match n {
        Some(n) => format!("{n:>12}"),
        None => format!("{:>12}", "·"),
    }
}

/// The listings with their counts, then the line figures.
pub fn render_counts(snap: &SessionSnapshot) -> String {
    let mut out = String::new();
    let Some(profile) = &snap.profile else {
        out.push_str("execution counts are off\n");
        return out;
    };
    for f in &snap.program.functions {
        let _ = writeln!(out, "== {} (optimized, {} instructions) ==", f.name, f.optimized.len());
        let _ = writeln!(out, "{:>12}    pc  line  instruction", "count");
        for row in &f.optimized {
            let _ = writeln!(out, "{}  {}", count_text(Some(profile.count(f.id, row.pc))), format_row(row));
        }
        let _ = writeln!(out, "== {} (unoptimized, {} instructions) ==", f.name, f.unoptimized.len());
        if *f.mapped {
            out.push_str("   counts are those of the optimized instruction each became; · = removed or folded away\n");
        } else {
            out.push_str("   no pc map for this function: the optimizer's output could not be traced\n");
        }
        for row in &f.unoptimized {
            let n = unoptimized_count(f, profile, row.pc);
            let _ = writeln!(out, "{}  {}", count_text(n), format_row(row));
        }
        out.push('\n');
    }
    // One table per file (a multi-file program names each by display path).
    for (file, info) in snap.program.files.iter().enumerate() {
        let counts = match file {
            0 => Some((&profile.line_hits, &profile.lines)),
            _ => profile.modules.get(file - 1).map(|m| (&m.line_hits, &m.lines)),
        };
        let Some((line_hits, lines)) = counts else { continue };
        if snap.is_multi_file() {
            let _ = writeln!(out, "== lines of {} ==", info.display);
        } else {
            let _ = writeln!(out, "== lines ==");
        }
        let _ = writeln!(out, "{:>6}  {:>12}  {:>14}  source", "line", "times run", "instructions");
        for (i, text) in info.source.lines().enumerate() {
            let line = i + 1;
            let hits = line_hits.get(line).copied().unwrap_or(0);
            let instructions = lines.get(line).copied().unwrap_or(0);
            if hits == 0 && instructions == 0 {
                continue;
            }
            let _ = writeln!(out, "{line:>6}  {hits:>12}  {instructions:>14}  {}", text.trim_end());
        }
    }
    out
}

/// The count of unoptimized instruction `pc`: that of the optimized instruction it became.
fn unoptimized_count(f: &FunctionInfo, profile: &ProfileView, pc: u32) -> Option<u64> {
    let target = f.unoptimized_map.get(pc as usize).copied().flatten()?;
    Some(profile.count(f.id, target))
}

/// What each optimizer pass changed, per function.
pub fn render_passes(snap: &SessionSnapshot) -> String {
    let mut out = String::new();
    let functions = &snap.program.functions;
    let n_passes = functions.first().map_or(0, |f| f.passes.len());
    if n_passes == 0 {
        out.push_str("no optimizer passes (-O0)\n");
        return out;
    }
    for i in 0..n_passes {
        let name = functions.first().and_then(|f| f.passes.get(i)).map_or("?", |p| p.pass);
        let _ = writeln!(out, "#### pass {} of {n_passes}: {name} ####", i + 1);
        for f in functions {
            let before = if i == 0 { Some(&*f.unoptimized) } else { f.passes.get(i - 1).map(|p| &p.rows) };
            let (Some(before), Some(after)) = (before, f.passes.get(i).map(|p| &p.rows)) else { continue };
            let old: String = before.iter().map(|r| format_row_without_pc(r) + "\n").collect();
            let new: String = after.iter().map(|r| format_row_without_pc(r) + "\n").collect();
            if old == new {
                let _ = writeln!(out, "== {}: no change ({} instructions) ==", f.name, after.len());
                continue;
            }
            let _ = writeln!(out, "== {} ({} -> {} instructions) ==", f.name, before.len(), after.len());
            unified_diff(&old, &new, &mut out);
        }
        out.push('\n');
    }
    out
}
