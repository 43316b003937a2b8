//! `zexus-tui snapshot FILE`: run a program under the debugger headless and print what the
//! TUI would show, as text or as the JSON snapshot contract (`SessionSnapshot`).

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::RunOpts;
use crate::engine::debug::{BreakSpec, Debugger, Goal, Watched, break_file, parse_break};
use crate::engine::recorder::EventBreak;
use crate::engine::snapshot::{Breakpoint, LoopState, RunStatus, SessionSnapshot};

/// `NAME` or, for the contract events, `NAME:FILTER` (a contract, action or event name).
fn parse_event(spec: &str) -> Result<(EventBreak, Option<String>), String> {
    let (name, filter) = match spec.split_once(':') {
        Some((n, f)) => (n.trim(), Some(f.trim().to_string())),
        None => (spec.trim(), None),
    };
    let event = EventBreak::ALL.into_iter().find(|e| e.name() == name).ok_or_else(|| {
        let all: Vec<&str> = EventBreak::ALL.iter().map(|e| e.name()).collect();
        format!("unknown event '{name}' (events: {})", all.join(", "))
    })?;
    match filter {
        Some(f) if !event.takes_filter() => Err(format!("'{name}' takes no filter (got '{f}')")),
        Some(f) if f.is_empty() => Err(format!("empty filter after '{name}:'")),
        filter => Ok((event, filter)),
    }
}

/// Arguments of `snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The program.
    pub file: PathBuf,
    /// Print the snapshot as JSON (format_version 1) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Stop after N instructions [default: run to the end or the first breakpoint].
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,
    /// Stop when execution enters LINE of the main file, or LINE of FILE (a module by its
    /// display path, as `dis` and diagnostics name it: `modules/x.zx:12`) (repeatable).
    /// `ignore N` passes over the first N hits; `if COND` stops only where the Zexus
    /// expression COND (in the stopped frame: its locals, the globals, STATE) is true:
    /// `--break '2 if n == 0'`, `--break 'lib.zx:7 ignore 3 if x > 1'`.
    #[arg(long = "break", value_name = "[FILE:]LINE [ignore N] [if COND]", value_parser = parse_break)]
    pub breaks: Vec<BreakSpec>,
    /// Stop after the instruction that changes NAME (a global) or STATE["key"], showing old →
    /// new in the stop reason (gdb's `watch`) (repeatable).
    #[arg(long = "watch", value_name = "NAME|STATE[\"key\"]")]
    pub watches: Vec<String>,
    /// A watch expression (gdb's `display`): a Zexus expression evaluated in the innermost
    /// frame where the snapshot stops, listed with its value (repeatable).
    #[arg(long = "display", value_name = "EXPR")]
    pub displays: Vec<String>,
    /// As `--break`, deleted when it first stops (gdb's `tbreak`) (repeatable).
    #[arg(long = "tbreak", value_name = "[FILE:]LINE [ignore N] [if COND]", value_parser = parse_break)]
    pub tbreaks: Vec<BreakSpec>,
    /// Stop on a VM event (repeatable): jit (a loop is compiled), bail (native code bails
    /// out), miss (a restart misses the cache), error (before a runtime error), rollback (a
    /// transaction rolls back), catch (an error is caught), require-failed (at a failing
    /// require, before its rollback), action-reverted (after an action call's rollback),
    /// event-emitted (after an emit). The last three take a filter after a colon, a
    /// contract, action or event name: `event-emitted:Transfer`, `action-reverted:Token.transfer`.
    #[arg(long = "break-on", value_name = "EVENT[:FILTER]", value_parser = parse_event)]
    pub break_on: Vec<(EventBreak, Option<String>)>,
    /// Also write the Chrome trace of the run (what `e` exports in the TUI) to FILE.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    #[command(flatten)]
    pub opts: RunOpts,
    /// Arguments passed to the program as `__ARGS__` (everything after FILE and the options).
    #[arg(last = false, trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Runs the program as asked and prints its snapshot. Exit status 0 once a snapshot is
/// printed (even of a failed program), 1 if the program does not compile.
pub fn cmd_snapshot(args: &SnapshotArgs) -> ExitCode {
    let main = match super::module_fs::load_main(&args.file) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let mut options = args.opts.options();
    options.vm.args = args.args.clone();
    let built =
        Debugger::with_program(&main.path, &main.src, main.program.clone(), &options, super::make_cache(&args.opts));
    let mut debugger = match built {
        Ok(d) => d,
        Err(diags) => return main.report(&diags),
    };
    let temporary = args.tbreaks.iter().map(|b| {
        let mut b = b.clone();
        b.options.temporary = true;
        b
    });
    for BreakSpec { file, line, options } in args.breaks.iter().cloned().chain(temporary) {
        let files = debugger.session().files();
        let file = match file.as_deref().map(|f| (f, break_file(files, f))) {
            None => 0,
            Some((_, Some(i))) => i,
            Some((name, None)) => {
                let known: Vec<&str> = files.files.iter().map(|f| f.display.as_str()).collect();
                eprintln!(
                    "error: --break {name}:{line}: the program has no file {name} (files: {})",
                    crate::sanitize::clean(&known.join(", "))
                );
                return ExitCode::from(2);
            }
        };
        debugger.set_breakpoint(Breakpoint::Line { file, line }, options);
    }
    for text in &args.watches {
        match Watched::parse(text, &debugger.session().vm) {
            Ok(what) => debugger.add_watch(what),
            Err(e) => {
                eprintln!("error: --watch {}: {}", crate::sanitize::clean(text), crate::sanitize::clean(&e));
                return ExitCode::from(2);
            }
        }
    }
    for (event, filter) in &args.break_on {
        debugger.set_event_break(*event, true, filter.clone());
    }
    if args.steps != Some(0) {
        debugger.run_to_stop(Goal::Continue, args.steps.unwrap_or(u64::MAX));
        debugger.pause();
    }
    if let Some(path) = &args.trace {
        if crate::atomic_file::same_file(path, &args.file) {
            eprintln!("error: the trace output {} is the program itself; choose another --trace path", path.display());
            return ExitCode::from(2);
        }
        let mut summary = None;
        let res = crate::atomic_file::write(path, |f| {
            let mut out = std::io::BufWriter::new(f);
            summary = Some(debugger.export_trace(&mut out)?);
            std::io::Write::flush(&mut out)
        })
        .and_then(|()| summary.ok_or_else(|| "nothing written".to_string()));
        match res {
            Ok(summary) => eprintln!("trace: wrote {}: {} events", path.display(), summary.events_kept),
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::from(1);
            }
        }
    }
    let mut snap = debugger.snapshot();
    snap.displays = crate::engine::debug::eval::displays(&debugger.session().vm, &args.displays);
    let text = if args.json {
        match serde_json::to_string_pretty(&snap) {
            Ok(json) => json + "\n",
            Err(e) => {
                eprintln!("error: cannot serialize the snapshot: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        // Program output, source lines and STATE values are the program's: never raw.
        crate::sanitize::clean_lines(&render_text(&snap))
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    ExitCode::SUCCESS
}

/// The snapshot as readable text.
pub fn render_text(snap: &SessionSnapshot) -> String {
    let mut s = String::new();
    let program = &snap.program;
    let _ = writeln!(
        s,
        "program      {} ({} functions, {} -> {} instructions)",
        program.name,
        program.functions.len(),
        program.unoptimized_len,
        program.optimized_len
    );
    let status = snap.status.label().to_lowercase();
    match &snap.stop_reason {
        Some(reason) => {
            let _ = writeln!(s, "status       {status} ({reason})");
        }
        None => {
            let _ = writeln!(s, "status       {status}");
        }
    }
    if snap.is_multi_file() {
        let names: Vec<&str> = snap.program.files.iter().map(|f| f.display.as_str()).collect();
        let _ = writeln!(s, "files        {}: {}", names.len(), names.join(", "));
    }
    if let Some(loc) = snap.location {
        let name = snap.function(loc.function).map(|f| f.name.as_str()).unwrap_or("?");
        let file = if snap.is_multi_file() { format!(" file {}", snap.file_name(loc.file)) } else { String::new() };
        let _ = writeln!(
            s,
            "location     {name}{file} line {} col {} pc {} depth {}",
            loc.line, loc.col, loc.pc, loc.depth
        );
    }
    let c = &snap.counters;
    let _ = writeln!(
        s,
        "counters     instructions {} gas {} calls {} builtin calls {} max depth {}",
        c.instructions, c.gas, c.calls, c.builtin_calls, c.max_depth
    );
    if !snap.event_breaks.is_empty() {
        let names: Vec<String> = snap
            .event_breaks
            .iter()
            .map(|e| match snap.event_filters.iter().find(|(f, _)| f == e) {
                Some((_, filter)) => format!("{}:{filter}", e.name()),
                None => e.name().to_string(),
            })
            .collect();
        let _ = writeln!(s, "break on     {}", names.join(", "));
    }
    if !snap.breakpoints.is_empty() {
        let list: Vec<String> = snap
            .breakpoints
            .iter()
            .map(|b| match b {
                Breakpoint::Line { file, line } => snap.where_line(*file, *line),
                Breakpoint::Instruction { function, pc } => format!("function {function} pc {pc}"),
            })
            .collect();
        let _ = writeln!(s, "breakpoints  {}", list.join(", "));
    }
    // The breakpoint list as the TUI's `B` menu shows it: options, hit counts, watchpoints.
    for row in &snap.break_list {
        let hits = match row.hits {
            0 => String::new(),
            1 => " · 1 hit".to_string(),
            n => format!(" · {n} hits"),
        };
        let _ = writeln!(s, "  {} {}{hits}", if row.enabled { "●" } else { "○" }, row.what);
    }
    let _ = writeln!(s, "frames       {} (outermost first)", snap.frames.len());
    for (i, f) in snap.frames.iter().enumerate() {
        let at = if snap.is_multi_file() {
            format!("{}:{}", snap.file_name(f.file), f.line)
        } else {
            format!("line {}", f.line)
        };
        let tx = match f.transaction {
            Some(_) if snap.status == RunStatus::Failed => ", reverted".to_string(),
            Some(depth) => format!(", external call in tx {depth}"),
            None => String::new(),
        };
        let _ = writeln!(s, "  #{i} {} {at} pc {} ({} operands{tx})", f.name, f.pc, f.operand_count);
        for b in &f.locals {
            let _ = writeln!(s, "       {} = {}", b.name, b.value);
        }
    }
    let _ = writeln!(s, "operands     {} (top first)", snap.operand_count);
    for v in &snap.operands {
        let _ = writeln!(s, "  {v}");
    }
    let _ = writeln!(s, "globals      {}", snap.globals.len());
    for b in &snap.globals {
        let _ = writeln!(s, "  {} = {}", b.name, b.value);
    }
    let _ = writeln!(s, "state        {} committed", snap.state_len);
    for b in &snap.state {
        let _ = writeln!(s, "  {:?} = {}", b.name, b.value);
    }
    if !snap.displays.is_empty() {
        let _ = writeln!(s, "displays     {} (in the innermost frame)", snap.displays.len());
        for d in &snap.displays {
            let _ = writeln!(s, "  {} = {}", d.name, d.value);
        }
    }
    let _ = writeln!(s, "transactions {} open", snap.transactions.len());
    for tx in &snap.transactions {
        let _ = writeln!(s, "  #{}{}", tx.depth, crate::engine::snapshot::pending(tx.writes.len() + tx.members.len()));
        for w in &tx.writes {
            let _ = writeln!(s, "     {w}");
        }
        for m in &tx.members {
            let _ = writeln!(s, "     {m}");
        }
    }
    if !snap.contracts.is_empty() || snap.events_len > 0 {
        let _ = writeln!(s, "contracts    {} instances", snap.contracts.len());
        for c in &snap.contracts {
            let _ = writeln!(s, "  {}", c.id);
            for m in &c.members {
                let _ = writeln!(s, "    {} = {}", m.name, m.value);
            }
        }
        let _ = writeln!(s, "events       {}", snap.events_len);
        for e in &snap.events {
            let _ = writeln!(s, "  {e}");
        }
    }
    if let Some(rollback) = &snap.last_rollback {
        let _ = writeln!(s, "last rollback discarded");
        for part in rollback.split("; ") {
            let _ = writeln!(s, "  {part}");
        }
    }
    if !snap.reverted_calls.is_empty() {
        let _ = writeln!(s, "reverted     {} calls", snap.reverted_calls.len());
        for r in &snap.reverted_calls {
            let _ = writeln!(s, "  {r}");
        }
    }
    let _ = writeln!(s, "loops        {}", snap.loops.len());
    for l in &snap.loops {
        let why = l.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
        let state = match l.state {
            LoopState::Cold => match &l.reason {
                Some(r) => format!("cold, will not compile: {r}"),
                None => format!("cold, compiles in {}", l.remaining()),
            },
            LoopState::Hot => format!("hot, interpreted{why}"),
            LoopState::Refused => format!("hot, interpreted (not compiled{why})"),
            LoopState::Compiled if l.bailouts > 0 => {
                format!("compiled, {} entries, {} bail-outs{why}", l.entries, l.bailouts)
            }
            LoopState::Compiled => format!("compiled, {} entries", l.entries),
            LoopState::Blacklisted => format!("blacklisted after {} bail-outs{why}", l.bailouts),
        };
        let _ = writeln!(
            s,
            "  {}:{} loop {}: {} iterations, threshold {}: {state}",
            l.function_name, l.header_line, l.loop_id, l.iterations, l.threshold
        );
    }
    if snap.jit.available {
        let j = &snap.jit;
        let _ = writeln!(
            s,
            "jit          {} loops compiled, {} entries, {} bailouts",
            j.loops_compiled, j.entries, j.bailouts
        );
    } else {
        let _ = writeln!(s, "jit          not available in this build yet");
    }
    match &snap.cache {
        Some(cache) if cache.enabled => {
            let _ = writeln!(
                s,
                "cache        {} hits, {} misses, {} entries, {} bytes, {} evictions; build {}: {} of {} units from the cache",
                cache.hits,
                cache.misses,
                cache.entries,
                cache.memory_bytes,
                cache.evictions,
                cache.builds,
                cache.last_hits,
                cache.last_units
            );
        }
        _ => {
            let _ = writeln!(s, "cache        off");
        }
    }
    if let Some(cache) = snap.cache.as_ref().filter(|c| c.enabled) {
        for f in &cache.files {
            let why = f.why(cache.builds);
            let _ = writeln!(s, "  {}: {} of {} units from the cache ({why})", snap.file_name(f.file), f.hits, f.units);
        }
    }
    match &snap.profile {
        Some(p) => {
            let files = std::iter::once(&p.line_hits).chain(p.modules.iter().map(|m| &m.line_hits));
            let mut lines: Vec<(u32, usize, u64)> = files
                .enumerate()
                .flat_map(|(f, hits)| hits.iter().copied().enumerate().map(move |(l, n)| (f as u32, l, n)))
                .filter(|(_, _, n)| *n > 0)
                .collect();
            lines.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
            let top: Vec<String> = lines
                .iter()
                .take(5)
                .map(|(f, line, n)| format!("{} x{n}", snap.where_line(*f, *line as u32)))
                .collect();
            let _ = writeln!(s, "profile      exact counts; most run: {}", top.join(", "));
        }
        None => {
            let _ = writeln!(s, "profile      counts off");
        }
    }
    let _ = writeln!(s, "optimizer    {} passes", program.pass_stats.len());
    for p in &program.pass_stats {
        let _ = writeln!(
            s,
            "  {}: removed {}, folded {}, branches {}, jumps {}, fused {}",
            p.pass, p.removed, p.folded, p.branches_resolved, p.jumps_threaded, p.fused
        );
    }
    let _ = writeln!(s, "output       {} lines", snap.output_total);
    for line in &snap.output {
        let _ = writeln!(s, "  | {line}");
    }
    for w in &snap.warnings {
        let _ = writeln!(s, "warning      {w}");
    }
    if let Some(err) = &snap.error {
        let file = if snap.is_multi_file() { format!("{} ", snap.file_name(err.file)) } else { String::new() };
        let _ = writeln!(s, "error        {file}line {} col {}: {}", err.line, err.col, err.message);
        for line in err.rendered.lines() {
            let _ = writeln!(s, "  {line}");
        }
    }
    s
}
