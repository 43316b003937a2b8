//! Builds [`SessionSnapshot`]s from a session: the static half once per build (listings,
//! pass stages, the pc map), the dynamic half on every call; and [`SessionText`], what the
//! session keeps for it (its source, name, captured output and caches).

use std::cell::{OnceCell, RefCell};
use std::sync::Arc;

use super::*;
use crate::diag::render;
use crate::engine::Session;
use crate::engine::files::{ProgramFiles, localized};
use crate::engine::output::OutputLog;
use crate::jit::disasm::NativeSection;
use crate::jit::{JitCodeListing, JitLoopInfo, JitLoopStatus};
use crate::syntax::span::SourceMap;
use crate::vm::preview::{data_preview, preview};
use crate::vm::value::Value;

/// The session's own text and what snapshots derive from it: the source, the display name, the
/// captured program output, and the static half of the snapshot (built on first use).
#[derive(Debug)]
pub struct SessionText {
    pub(crate) name: String,
    /// The program's files (the main file first; its display name is `name`).
    pub(crate) files: ProgramFiles,
    pub(crate) output: Option<OutputLog>,
    program: OnceCell<Arc<ProgramInfo>>,
    /// Disassembled native code, by function, loop and code address (decoded once).
    native: RefCell<Vec<NativeListing>>,
    /// Execution counting is on (and is switched on again in the VM of every reload).
    pub(crate) counting: bool,
}

impl SessionText {
    /// The text of `source` (output not captured).
    pub fn new(source: &str) -> SessionText {
        SessionText::from_source(source.to_string())
    }

    /// [`SessionText::new`], taking the text (no copy).
    pub fn from_source(source: String) -> SessionText {
        SessionText {
            name: "<program>".to_string(),
            files: ProgramFiles { files: vec![crate::engine::files::FileText::owned("", "<program>", source, 0)] },
            output: None,
            program: OnceCell::new(),
            native: RefCell::new(Vec::new()),
            counting: false,
        }
    }

    /// Forgets the output captured so far.
    pub fn clear_output(&self) {
        if let Some(log) = &self.output {
            log.clear();
        }
    }

    /// Starts over on `files` after a reload: the name stays, captured output is cleared.
    pub fn reset(&mut self, mut files: ProgramFiles) {
        files.files[0].display = self.name.clone();
        self.files = files;
        self.program = OnceCell::new();
        if let Some(log) = &self.output {
            log.clear();
        }
    }

    /// Sets the display name (also the main file's display path).
    pub fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
        self.files.files[0].display = name.to_string();
    }
}

impl Session {
    /// The source text the session was built from.
    pub fn source(&self) -> &str {
        &self.text.files.files[0].source
    }

    /// Line index of the main file's source.
    pub fn source_map(&self) -> &SourceMap {
        &self.text.files.files[0].map
    }

    /// The program's files (the main file first).
    pub fn files(&self) -> &ProgramFiles {
        &self.text.files
    }

    /// The static half of the snapshot, built on first use.
    pub fn program_info(&self) -> Arc<ProgramInfo> {
        self.text.program.get_or_init(|| Arc::new(build_program_info(self))).clone()
    }

    /// Source line of instruction `pc` of function `function` (0 when out of range).
    pub fn line_of(&self, function: u32, pc: u32) -> u32 {
        let info = self.program_info();
        info.functions.get(function as usize).map_or(0, |f| f.line_of(pc))
    }

    /// The innermost position, if the program has not finished.
    pub fn location(&self) -> Option<Location> {
        let frame = self.vm.frames.last()?;
        let pc = if self.vm.failure().is_some() { frame.ip.saturating_sub(1) } else { frame.ip };
        let span = frame.proto.spans.get(pc).copied().unwrap_or_default();
        let (file, lc) = self.text.files.locate(span.start);
        Some(Location {
            function: frame.proto.id,
            file,
            pc: pc as u32,
            line: lc.line,
            col: lc.col,
            depth: self.vm.frames.len(),
        })
    }

    /// A snapshot of everything the debugger shows. Status is `Paused` while the program can
    /// still run; the caller (the debugger) overrides it while running.
    pub fn snapshot(&self) -> SessionSnapshot {
        let program = self.program_info();
        let vm = &self.vm;
        let status = if vm.failure().is_some() {
            RunStatus::Failed
        } else if vm.is_done() {
            RunStatus::Finished
        } else {
            RunStatus::Paused
        };
        let (output, output_total) = match &self.text.output {
            Some(log) => log.tail(MAX_OUTPUT_LINES),
            None => (Vec::new(), 0),
        };
        let (operands, operand_count) = self.operands();
        let (state, state_len) = self.state_entries();
        let (contracts, events, events_len) = self.contract_views();
        let line_counts: Vec<usize> = program.files.iter().map(|f| f.line_count).collect();
        let profile = self.profile_view(&program.functions, &line_counts);
        let loops = self.loop_views(profile.as_ref());
        SessionSnapshot {
            format_version: SNAPSHOT_FORMAT_VERSION,
            version: env!("CARGO_PKG_VERSION"),
            status,
            stop_reason: None,
            location: self.location(),
            frames: self.frame_views(&program),
            operands,
            operand_count,
            globals: self.globals(),
            state,
            state_len,
            transactions: {
                let mut writes = vm.ledger.contracts.pending_writes().into_iter();
                let mut state_writes = vm.ledger.overlay_writes().into_iter();
                vm.ledger
                    .overlay_keys()
                    .into_iter()
                    .enumerate()
                    .map(|(i, keys)| {
                        let state = state_writes
                            .next()
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, old, new)| {
                                let old = old.map_or_else(|| "unset".to_string(), data_preview);
                                format!("{k:?}: {old} → {}", data_preview(new))
                            })
                            .collect();
                        let members = writes
                            .next()
                            .unwrap_or_default()
                            .iter()
                            .map(|(m, old, new)| format!("{m}: {} → {}", preview(old), preview(new)))
                            .collect();
                        TxView { depth: i + 1, keys, writes: state, members }
                    })
                    .collect()
            },
            contracts,
            events,
            events_len,
            counters: vm.counters.clone(),
            gas_limit: vm.config.gas_limit,
            output,
            output_total,
            warnings: vm.warnings.clone(),
            displays: Vec::new(),
            break_list: Vec::new(),
            error: self.error_view(),
            loops,
            breakpoints: Vec::new(),
            event_breaks: Vec::new(),
            event_filters: Vec::new(),
            last_rollback: None,
            reverted_calls: Vec::new(),
            jit: self.jit_summary(),
            jit_code: Some(self.jit_view(&program)),
            cache: Some(self.cache_view()),
            profile,
            flame: None,
            clock_us: 0,
            ips_history: Vec::new(),
            timeline: Default::default(),
            program,
        }
    }

    /// Which instructions run as native code, and the machine code of every compiled loop.
    fn jit_view(&self, program: &ProgramInfo) -> JitView {
        let info = self.jit_info();
        let compiled = program
            .functions
            .iter()
            .map(|f| (0..f.optimized.len() as u32).map(|pc| info.instruction(f.id, pc).compiled).collect())
            .collect();
        let mut cache = self.text.native.borrow_mut();
        let mut native = Vec::new();
        for l in &info.loops {
            let Some(code) = &l.code else { continue };
            let known =
                cache.iter().find(|n| n.function == l.proto_id && n.loop_id == l.loop_id && n.address == code.address);
            let listing = match known {
                Some(n) => n.clone(),
                None => {
                    let listing = native_listing(l.proto_id, l.loop_id, code);
                    cache.push(listing.clone());
                    listing
                }
            };
            native.push(listing);
        }
        JitView { compiled, native }
    }

    fn cache_view(&self) -> CacheView {
        let stats = self.cache_stats();
        let last = self.last_build();
        CacheView {
            enabled: stats.enabled,
            builds: self.builds(),
            last_units: last.units.len() as u64,
            last_hits: (last.memory_hits() + last.disk_hits()) as u64,
            hits: stats.hits,
            misses: stats.misses,
            entries: stats.entries,
            memory_bytes: stats.memory_bytes,
            evictions: stats.evictions,
            files: self.file_cache_views(),
        }
    }

    /// The latest build's units per file (a multi-file program only).
    fn file_cache_views(&self) -> Vec<FileCacheView> {
        let files = &self.text.files;
        if !files.is_multi() {
            return Vec::new();
        }
        let mut views: Vec<FileCacheView> = (0..files.files.len() as u32)
            .map(|file| {
                let display = if file == 0 { &self.text.name } else { &files.get(file).display };
                FileCacheView { file, changed: self.reload.changed.contains(display), ..FileCacheView::default() }
            })
            .collect();
        for unit in &self.last_build().units {
            let Some(view) = views.get_mut(unit.file as usize) else { continue };
            view.units += 1;
            match unit.source {
                crate::engine::pipeline::UnitSource::Compiled => view.compiled.push(unit.name.clone()),
                _ => view.hits += 1,
            }
        }
        views
    }

    fn frame_views(&self, program: &ProgramInfo) -> Vec<FrameView> {
        let vm = &self.vm;
        let n = vm.frames.len();
        let calls = vm.external_calls();
        vm.frames
            .iter()
            .enumerate()
            .map(|(i, frame)| {
                let innermost = i + 1 == n;
                let pc = if innermost && vm.failure().is_none() { frame.ip } else { frame.ip.saturating_sub(1) };
                let proto = &frame.proto;
                let function = program.functions.get(proto.id as usize);
                let line = function.map_or(0, |f| f.line_of(pc as u32));
                let locals = proto
                    .slot_names
                    .iter()
                    .enumerate()
                    .filter(|(_, name)| !name.starts_with('%'))
                    .filter_map(|(slot, name)| {
                        let v = vm.stack().get(frame.base + slot)?;
                        let v = match v {
                            Value::Cell(c) => c.try_borrow().ok()?.clone(),
                            other => other.clone(),
                        };
                        (!matches!(v, Value::Undef)).then(|| Binding { name: name.clone(), value: preview(&v) })
                    })
                    .collect();
                let (start, end) = self.operand_range(i);
                FrameView {
                    function: proto.id,
                    name: proto.display_name().to_string(),
                    file: function.map_or(0, |f| f.file),
                    pc: pc as u32,
                    line,
                    locals,
                    operand_count: end.saturating_sub(start),
                    transaction: calls.iter().find(|(frame, _)| *frame == i).map(|(_, tx)| *tx),
                }
            })
            .collect()
    }

    /// Value-stack range of frame `i`'s operands.
    fn operand_range(&self, i: usize) -> (usize, usize) {
        let vm = &self.vm;
        let Some(frame) = vm.frames.get(i) else { return (0, 0) };
        let mut start = frame.base + frame.proto.n_slots as usize;
        if i == 0 {
            start = start.max(vm.program.global_names.len());
        }
        let end = match vm.frames.get(i + 1) {
            // The callee itself sits just below the next frame's slots.
            Some(next) => next.base.saturating_sub(1),
            None => vm.stack().len(),
        };
        (start.min(end), end)
    }

    fn operands(&self) -> (Vec<String>, usize) {
        let n = self.vm.frames.len();
        if n == 0 {
            return (Vec::new(), 0);
        }
        let (start, end) = self.operand_range(n - 1);
        let items = self.vm.stack().get(start..end).unwrap_or(&[]);
        (items.iter().rev().take(MAX_OPERANDS).map(preview).collect(), items.len())
    }

    fn globals(&self) -> Vec<Binding> {
        let vm = &self.vm;
        vm.program
            .global_names
            .iter()
            .enumerate()
            .filter(|(_, name)| !name.starts_with('%'))
            .filter_map(|(idx, name)| match vm.stack().get(idx)? {
                Value::Undef | Value::Builtin(_) => None,
                v => Some(Binding { name: name.clone(), value: preview(v) }),
            })
            .collect()
    }

    fn state_entries(&self) -> (Vec<Binding>, usize) {
        let committed = self.vm.ledger.committed();
        let entries = committed
            .iter()
            .take(MAX_STATE_ENTRIES)
            .map(|(k, d)| Binding { name: k.clone(), value: data_preview(d) })
            .collect();
        (entries, committed.len())
    }

    /// The instances with their storage, and the tail of the event log.
    fn contract_views(&self) -> (Vec<ContractView>, Vec<String>, usize) {
        let world = &self.vm.ledger.contracts;
        let contracts = crate::vm::contract::existing_instances(world)
            .into_iter()
            .take(MAX_STATE_ENTRIES)
            .map(|(id, members)| ContractView {
                id,
                members: members.iter().map(|(k, v)| Binding { name: k.clone(), value: preview(v) }).collect(),
            })
            .collect();
        let skip = world.events.len().saturating_sub(MAX_STATE_ENTRIES);
        let events = world
            .events
            .iter()
            .skip(skip)
            .map(|e| {
                let args: Vec<String> = e.args.iter().map(preview).collect();
                format!("{}({}) from {}", e.name, args.join(", "), e.source.as_deref().unwrap_or("top level"))
            })
            .collect();
        (contracts, events, world.events.len())
    }

    fn error_view(&self) -> Option<ErrorView> {
        let err = self.vm.failure()?;
        let files = &self.text.files;
        let (file, lc) = files.locate(err.span.start);
        let diag = err.to_diagnostic();
        let rendered = if files.is_multi() {
            self.diag_files().render(&diag)
        } else {
            render::render(&diag, &self.text.name, self.source())
        };
        Some(ErrorView {
            kind: err.kind,
            message: err.message.clone(),
            file,
            line: lc.line,
            col: lc.col,
            traceback: err
                .traceback
                .iter()
                .map(|t| (t.function.clone(), files.locate(t.call_site.start).1.line))
                .collect(),
            rendered,
        })
    }

    /// The program's files as the diagnostics renderer takes them.
    pub fn diag_files(&self) -> crate::diag::files::SourceFiles {
        crate::diag::files::SourceFiles {
            files: self
                .text
                .files
                .files
                .iter()
                .map(|f| crate::diag::files::SourceFile {
                    name: f.name.clone(),
                    display: f.display.clone(),
                    text: f.source.clone(),
                    base: f.base,
                })
                .collect(),
        }
    }

    /// Every loop. With execution counts, `iterations` counts native iterations too (the
    /// back-edge's count); without, only the interpreter's.
    fn loop_views(&self, profile: Option<&ProfileView>) -> Vec<LoopView> {
        let files = &self.text.files;
        let threshold = self.vm.config.hot_threshold;
        let jit = self.jit_info();
        let jit_on = self.jit.is_some();
        let mut out = Vec::new();
        for proto in &self.vm.program.protos {
            for (i, (info, counter)) in proto.loops.iter().zip(&proto.loop_counters).enumerate() {
                let span = proto.spans.get(info.header as usize).copied().unwrap_or_default();
                let counted = profile.map_or(0, |p| p.count(proto.id, info.back_edge));
                let (file, header) = files.locate(span.start);
                let iterations = counter.iterations.get().max(counted);
                let seen = jit.loops.iter().find(|l| l.proto_id == proto.id && l.loop_id == i as u16);
                let hot = counter.decided.get() || iterations >= threshold;
                let (state, reason) = match seen.map(|l| &l.status) {
                    _ if counter.compiled.get() => (LoopState::Compiled, seen.and_then(commonest_bailout)),
                    Some(JitLoopStatus::Blacklisted(why)) => (LoopState::Blacklisted, Some(why.clone())),
                    Some(JitLoopStatus::Refused(why)) if hot => (LoopState::Refused, Some(why.clone())),
                    _ if hot && !jit.available => (LoopState::Hot, Some("the JIT is not in this build".to_string())),
                    _ if hot && !jit_on => (LoopState::Hot, Some("the JIT is off (--no-jit)".to_string())),
                    _ if hot => (LoopState::Hot, None),
                    // Cold, but the code alone says the JIT will refuse it: say why now.
                    _ if jit_on && jit.available => (LoopState::Cold, crate::jit::static_refusal(proto, i as u16)),
                    _ => (LoopState::Cold, None),
                };
                out.push(LoopView {
                    function: proto.id,
                    function_name: proto.display_name().to_string(),
                    file,
                    loop_id: i as u16,
                    header_pc: info.header,
                    back_edge_pc: info.back_edge,
                    header_line: header.line,
                    iterations,
                    threshold,
                    state,
                    reason,
                    entries: seen.map_or(0, |l| l.entries),
                    bailouts: seen.map_or(0, |l| l.bailouts),
                    native_instructions: seen.map_or(0, |l| l.native_instructions),
                    native_bytes: seen.map_or(0, |l| l.native_bytes),
                });
            }
        }
        out
    }
}

/// Disassembles a loop's machine code, tagging each instruction with its bytecode pc. Branch
/// targets are shown as offsets from the start of the code (as if it ran at address 0), so a
/// listing reads the same in every run.
fn native_listing(function: u32, loop_id: u16, code: &JitCodeListing) -> NativeListing {
    let mut rows = Vec::new();
    let at_zero = JitCodeListing { address: 0, ..code.clone() };
    for (section, lines) in crate::jit::disasm::sections(&at_zero) {
        let (pc, cold) = match section {
            NativeSection::Prologue => (None, false),
            NativeSection::Instr(pc) => (Some(pc), false),
            NativeSection::Stubs => (None, true),
        };
        rows.extend(lines.into_iter().map(|l| NativeRow { offset: l.offset, pc, cold, text: short_targets(&l.text) }));
    }
    NativeListing { function, loop_id, address: code.address, bytes: code.bytes.len(), rows }
}

/// Drops the leading zeros of 16-digit hex operands (`jne 000000000000014Ch` -> `jne 14Ch`).
fn short_targets(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let digits = word.strip_suffix('h').unwrap_or("");
            if digits.len() == 16 && digits.chars().all(|c| c.is_ascii_hexdigit()) {
                let kept = digits.trim_start_matches('0');
                let kept = if kept.is_empty() { "0" } else { kept };
                // Intel syntax needs a leading digit.
                if kept.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    format!("0{kept}h")
                } else {
                    format!("{kept}h")
                }
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The reason of a loop's most frequent bail-out, with its count if it happened more than once.
fn commonest_bailout(l: &JitLoopInfo) -> Option<String> {
    let top = l.exits.iter().filter(|e| e.kind == "bailout").max_by_key(|e| e.count)?;
    Some(if top.count > 1 { format!("{} (x{})", top.reason, top.count) } else { top.reason.clone() })
}

fn build_program_info(session: &Session) -> ProgramInfo {
    let files = &session.text.files;
    let build = &session.build;
    let passes = &session.reload.options.passes;
    let mut functions = Vec::new();
    function_infos(&build.unoptimized, &build.chunk, 0, files.get(0), passes, &mut functions);
    for (i, m) in build.modules.iter().enumerate() {
        let file = files.get(i as u32 + 1);
        let unoptimized = localized(&m.unoptimized, file.base, &file.display);
        let optimized = localized(&m.chunk, file.base, &file.display);
        function_infos(&unoptimized, &optimized, i as u32 + 1, file, passes, &mut functions);
    }
    let main = files.get(0);
    let modules_len = |f: fn(&crate::engine::ModuleBuild) -> &crate::bytecode::chunk::Chunk| {
        build.modules.iter().map(|m| f(m).total_len()).sum::<usize>()
    };
    ProgramInfo {
        name: session.text.name.clone(),
        source: main.source.clone(),
        line_count: main.map.line_count(),
        files: files
            .files
            .iter()
            .map(|f| FileInfo {
                name: f.name.clone(),
                display: f.display.clone(),
                source: f.source.clone(),
                line_count: f.map.line_count(),
            })
            .collect(),
        functions,
        pass_stats: build.pass_stats.clone(),
        unoptimized_len: build.unoptimized.total_len() + modules_len(|m| &m.unoptimized),
        optimized_len: build.chunk.total_len() + modules_len(|m| &m.chunk),
    }
}

/// The listings of every function of one file's chunk tree (spans of that file), appended to
/// `out` in the linker's order, so that index and proto id agree.
fn function_infos(
    unoptimized: &crate::bytecode::chunk::Chunk,
    optimized: &crate::bytecode::chunk::Chunk,
    file: u32,
    text: &crate::engine::files::FileText,
    passes: &[crate::compile::optimize::Pass],
    out: &mut Vec<FunctionInfo>,
) {
    // Listings, pass stages and the pc map are made per function when first read (`lazy.rs`).
    let text = Arc::new(text.clone());
    let unoptimized_all = unoptimized.preorder();
    for (i, chunk) in optimized.preorder().iter().enumerate() {
        let code = lazy::FunctionCode::new(chunk, unoptimized_all.get(i).copied(), passes, text.clone());
        let parts = lazy::Parts::of(&code);
        out.push(FunctionInfo {
            id: out.len() as u32,
            name: chunk.display_name().to_string(),
            file,
            arity: chunk.arity,
            slots: chunk.n_slots,
            optimized: parts.optimized,
            unoptimized: parts.unoptimized,
            unoptimized_map: parts.unoptimized_map,
            mapped: parts.mapped,
            passes: parts.passes,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_lists_every_function_in_linker_order() {
        let src = "action f(x) { return x + 1; }\naction g() { return f(2); }\nprint(g());\n";
        let session = Session::builder(src).name("t.zx").capture_output().build().expect("builds");
        let snap = session.snapshot();
        for proto in &session.vm.program.protos {
            let info = snap.function(proto.id).expect("function listed");
            assert_eq!(info.optimized.len(), proto.code.len(), "{}", info.name);
            assert_eq!(info.name, proto.display_name());
        }
        assert_eq!(snap.status, RunStatus::Paused);
        assert_eq!(snap.location.map(|l| l.pc), Some(0));
    }
}
