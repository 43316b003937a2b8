//! `zexus-tui stats FILE [--json]`: runs a program and reports the full statistics of the run.
//!
//! Streams: without `--json`, the program's output goes to stdout (as with `run`) and the
//! statistics table to stderr; with `--json`, the statistics (one JSON object, see
//! `engine::stats::RunStats`) go to stdout and the program's output to stderr. Diagnostics
//! always go to stderr, and the exit code is `run`'s (1 if the program failed).

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use super::{RunOpts, attach_state, save_state};
use crate::engine::Session;
use crate::engine::stats::RunStats;

/// Runs `file` and prints its statistics.
pub fn cmd_stats(file: &std::path::Path, opts: &RunOpts, json: bool, args: &[String]) -> ExitCode {
    let main = match super::module_fs::load_main(file) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let src = main.src.clone();
    let out = if json { super::stdout::program_stderr() } else { super::stdout::program_stdout() };
    let built = Session::builder(&src)
        .program_opt(main.program.clone())
        .options(&opts.options_with_args(args))
        .output(out)
        .cache(super::make_cache(opts))
        .build();
    let mut session = match built {
        Ok(s) => s,
        Err(diags) => return main.report(&diags),
    };
    let state = match attach_state(opts, &mut session) {
        Ok(state) => state,
        Err(code) => return code,
    };
    let (halt, stats) = session.run_with_stats();
    let code = main.finish(&mut session, &halt);
    let code = save_state(state.as_ref(), &session, &halt, code);
    if json {
        let text = serde_json::to_string_pretty(&stats).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
    } else {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(crate::sanitize::clean_lines(&render_table(&stats)).as_bytes());
    }
    code
}

/// Prints every field of a flat record (so fields added later show up without changes here).
fn flat_section(out: &mut String, title: &str, value: &impl serde::Serialize) {
    let _ = writeln!(out, "{title}:");
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(value) {
        let width = fields.keys().map(String::len).max().unwrap_or(0);
        for (key, v) in fields {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => "-".to_string(),
                serde_json::Value::Number(n) if n.is_f64() => format!("{:.3}", n.as_f64().unwrap_or(0.0)),
                other => other.to_string(),
            };
            let _ = writeln!(out, "  {key:<width$}  {text}");
        }
    }
}

/// The human-readable statistics table.
pub fn render_table(s: &RunStats) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "== statistics ==");
    let _ = writeln!(
        out,
        "outcome: {}{}",
        s.outcome.status,
        s.outcome.error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
    );

    let ses = &s.session;
    let _ = writeln!(out, "session:");
    let _ = writeln!(out, "  cache               {}", ses.cache_mode);
    let _ = writeln!(out, "  builds              {}", ses.builds);
    let _ = writeln!(
        out,
        "  units               {} ({} compiled, {} memory hits, {} disk hits)",
        ses.units, ses.units_compiled, ses.units_memory_hits, ses.units_disk_hits
    );
    let t = &ses.timings_us;
    let _ = writeln!(
        out,
        "  timings (us)        parse {} | cache {} | compile {} | optimize {} | link {} | run {}",
        t.parse, t.cache, t.compile, t.optimize, t.link, t.run
    );
    let _ = writeln!(out, "  {:<14} {:<9} {:>10} {:>8}  key", "unit", "source", "compile_us", "instrs");
    for u in &ses.unit_list {
        let source =
            serde_json::to_value(u.source).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let _ = writeln!(out, "  {:<14} {:<9} {:>10} {:>8}  {}", u.name, source, u.compile_us, u.instructions, u.key);
    }

    let c = &s.cache;
    let _ = writeln!(out, "cache:");
    let _ = writeln!(out, "  enabled             {}", c.enabled);
    let _ = writeln!(out, "  disk                {}", c.disk.as_deref().unwrap_or("-"));
    let _ = writeln!(out, "  lookups             {}", c.lookups);
    let _ = writeln!(out, "  hits                {} ({} memory, {} disk)", c.hits, c.memory_hits, c.disk_hits);
    let _ = writeln!(out, "  misses              {}", c.misses);
    let _ = writeln!(out, "  hit_rate            {:.1}%", 100.0 * c.hit_rate);
    let _ = writeln!(out, "  entries             {}", c.entries);
    let _ = writeln!(out, "  memory_bytes        {}", c.memory_bytes);
    let _ = writeln!(out, "  evictions           {}", c.evictions);
    let _ = writeln!(out, "  disk_errors         {}", c.disk_errors);
    let _ = writeln!(out, "  disk_writes         {} ({} failed)", c.disk_writes, c.disk_write_errors);
    let _ = writeln!(out, "  uncacheable         {}", c.uncacheable);
    let _ = writeln!(out, "  compile_time_saved  {} us", c.compile_time_saved_us);

    let o = &s.optimizer;
    let _ = writeln!(out, "optimizer:");
    let _ = writeln!(
        out,
        "  {:<10} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "pass", "removed", "folded", "branches", "threaded", "fused"
    );
    for p in &o.passes {
        let _ = writeln!(
            out,
            "  {:<10} {:>8} {:>8} {:>8} {:>8} {:>8}",
            p.pass, p.removed, p.folded, p.branches_resolved, p.jumps_threaded, p.fused
        );
    }
    let _ = writeln!(
        out,
        "  total: {} -> {} instructions ({:.1}% fewer)",
        o.instructions_before, o.instructions_after, o.reduction_pct
    );

    let vm = &s.vm;
    let _ = writeln!(out, "vm:");
    let _ = writeln!(out, "  instructions        {}", vm.instructions);
    let _ = writeln!(out, "  calls               {}", vm.calls);
    let _ = writeln!(out, "  builtin_calls       {}", vm.builtin_calls);
    let _ = writeln!(out, "  max_call_depth      {}", vm.max_call_depth);
    let _ = writeln!(out, "  max_stack_depth     {}", vm.max_stack_depth);
    let _ = writeln!(out, "  jit_instructions    {}", vm.jit_instructions);
    let _ = writeln!(out, "  per opcode:");
    for c in &vm.per_opcode {
        let pct = if vm.instructions == 0 { 0.0 } else { 100.0 * c.count as f64 / vm.instructions as f64 };
        let _ = writeln!(out, "    {:<16} {:>12} {:>6.1}%", c.op, c.count, pct);
    }

    let b = &s.blockchain;
    let _ = writeln!(out, "blockchain:");
    let _ = writeln!(out, "  gas_used            {}", b.gas_used);
    let _ = writeln!(out, "  open_transactions   {}", b.open_transactions);
    let _ = writeln!(out, "  state ({} committed keys):", b.state.len());
    for e in &b.state {
        let _ = writeln!(out, "    {} = {}", e.key, e.value);
    }
    if !b.contracts.is_empty() || !b.events.is_empty() {
        let _ = writeln!(out, "  contracts ({} instances):", b.contracts.len());
        for inst in &b.contracts {
            let _ = writeln!(out, "    {}", inst.id);
            for m in &inst.members {
                let _ = writeln!(out, "      {} = {}", m.key, m.value);
            }
        }
        let _ = writeln!(out, "  events ({}):", b.events.len());
        for e in &b.events {
            let _ = writeln!(out, "    {e}");
        }
    }
    if !b.actions.is_empty() {
        let _ = writeln!(out, "  gas per contract action (external calls):");
        let mut rows = String::new();
        crate::trace::report::render_action_rows(&mut rows, &b.actions, usize::MAX);
        for line in rows.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }

    flat_section(&mut out, "jit", &s.jit);
    out
}
