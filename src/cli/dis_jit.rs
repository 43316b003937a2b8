//! `dis --jit`: run a program with its output discarded, then show every loop the JIT
//! considered: the bytecode of the region and the machine code it became (disassembled with
//! iced-x86), or the reason it was refused.
//!
//! The program must run to find its hot loops, because the JIT speculates on the types the
//! loop variables hold when a loop turns hot. `--jit-threshold`, `--max-steps` and
//! `--gas-limit` apply as for `run`.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use super::RunOpts;
use crate::bytecode::chunk::Chunk;
use crate::bytecode::disasm;
use crate::engine::Session;
use crate::jit::disasm::{NativeSection, sections};
use crate::jit::{JitInfo, JitLoopStatus};
use crate::syntax::span::SourceMap;
use crate::vm::interp::Halt;

/// Runs `dis --jit FILE`.
pub fn cmd_dis_jit(file: &std::path::Path, opts: &RunOpts) -> ExitCode {
    let main = match super::module_fs::load_main(file) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let src = main.src.clone();
    let mut session = match Session::builder(&src).program_opt(main.program.clone()).options(&opts.options()).build() {
        Ok(s) => s,
        Err(diags) => return main.report(&diags),
    };
    let halt = session.run_to_end();
    let mut text = render(&session, &src);
    if let Halt::Error(e) = &halt {
        let _ = writeln!(text, "note: the program stopped with an error: {}", e.message);
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(crate::sanitize::clean_lines(&text).as_bytes());
    ExitCode::SUCCESS
}

/// The listing of every loop the JIT considered.
pub fn render(session: &Session, src: &str) -> String {
    let info: JitInfo = session.jit_info();
    let summary = session.jit_summary();
    let mut out = String::new();
    if !info.available {
        out.push_str("the JIT is not available in this build (x86-64 only)\n");
        return out;
    }
    if !summary.enabled {
        out.push_str("the JIT is switched off (--no-jit)\n");
        return out;
    }
    // Loops that never turned hot but that the JIT will refuse whatever they hold.
    let mut will_refuse = String::new();
    for proto in &session.vm.program.protos {
        for (i, (l, counter)) in proto.loops.iter().zip(&proto.loop_counters).enumerate() {
            let considered = info.loops.iter().any(|x| x.proto_id == proto.id && x.loop_id == i as u16);
            if considered || counter.decided.get() {
                continue;
            }
            if let Some(why) = crate::jit::static_refusal(proto, i as u16) {
                let _ = writeln!(
                    will_refuse,
                    "== loop {i} of {} (pc {}..={}): never hot ({} of {} back-edges); will not compile: {why} ==",
                    proto.display_name(),
                    l.header,
                    l.back_edge,
                    counter.iterations.get(),
                    summary.threshold
                );
            }
        }
    }
    if info.loops.is_empty() {
        let _ = writeln!(out, "no loop became hot (threshold {} back-edges)", summary.threshold);
        out.push_str(&will_refuse);
        return out;
    }
    let chunks = Chunk::preorder(&session.build.chunk);
    let map = SourceMap::new(src);
    for l in &info.loops {
        let status = match &l.status {
            JitLoopStatus::Compiled => format!("compiled, {} bytes", l.native_bytes),
            JitLoopStatus::Refused(why) => format!("refused: {why}"),
            JitLoopStatus::Blacklisted(why) => format!("blacklisted: {why}"),
        };
        let _ =
            writeln!(out, "== loop {} of {} (pc {}..={}): {status} ==", l.loop_id, l.function, l.header, l.back_edge);
        let _ = writeln!(
            out,
            "   entries {}, bail-outs {}, native instructions {}, compile time {} us",
            l.entries, l.bailouts, l.native_instructions, l.compile_time_us
        );
        if !l.registers.is_empty() {
            let _ = writeln!(out, "   registers: {}", l.registers.join(" "));
        }
        let rows = chunks.get(l.proto_id as usize).map(|c| disasm::rows(c, src, &map)).unwrap_or_default();
        let row_text = |pc: u32| -> String {
            match rows.iter().find(|r| r.pc == pc) {
                Some(r) => disasm::format_row(r),
                None => format!("  {pc:>4}  ?"),
            }
        };
        match &l.code {
            None => {
                for pc in l.header..=l.back_edge {
                    let _ = writeln!(out, "{}", row_text(pc));
                }
            }
            Some(code) => {
                let mut shown = std::collections::BTreeSet::new();
                let compiled: std::collections::BTreeSet<u32> = code.pc_offsets.iter().map(|(pc, _)| *pc).collect();
                for (section, lines) in sections(code) {
                    match section {
                        NativeSection::Prologue => {
                            out.push_str("   ; entry: save registers, type guards, load registers\n")
                        }
                        NativeSection::Instr(pc) => {
                            // Constants and variable reads emit no code of their own (the
                            // instruction that consumes them does); instructions native code
                            // never reaches have no code at all.
                            for earlier in l.header..pc {
                                if shown.insert(earlier) {
                                    let note = if compiled.contains(&earlier) {
                                        ""
                                    } else {
                                        "   (unreachable in native code)"
                                    };
                                    let _ = writeln!(out, "{}{note}", row_text(earlier));
                                }
                            }
                            shown.insert(pc);
                            let _ = writeln!(out, "{}", row_text(pc));
                        }
                        NativeSection::Stubs => out.push_str("   ; exit stubs and epilogue (cold)\n"),
                    }
                    for line in lines {
                        let _ = writeln!(out, "        {:06x}  {:<24} {}", line.offset, line.hex, line.text);
                    }
                }
            }
        }
        if !l.exits.is_empty() {
            out.push_str("   exits taken:\n");
            for e in &l.exits {
                let reason = if e.reason.is_empty() { String::new() } else { format!(": {}", e.reason) };
                let _ = writeln!(out, "     pc {:>4}  {:<9} x{}{reason}", e.pc, e.kind, e.count);
            }
        }
        out.push('\n');
    }
    out.push_str(&will_refuse);
    out
}
