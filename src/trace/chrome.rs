//! Chrome Trace Event Format export (the JSON object form), streamed to any `io::Write` as
//! events arrive, so memory stays bounded however long the program runs. Perfetto UI and
//! chrome://tracing load the result.
//!
//! Layout: one process (pid 1, "zexus-tui") with four tracks: tid 1 "VM" (the run as a
//! `<main>` slice, each Zexus call as a nested B/E slice whose `args` summarize the
//! arguments, instants for prints, transactions, STATE access, hot loops and errors; the
//! counters `instructions`, `stack depth` and `gas`), tid 2 "pipeline" (lex, parse, compile,
//! optimize and link slices; instants for optimizer passes and cache hits and misses) and
//! tid 3 "JIT" (one slice per loop compilation; instants for bail-outs) and tid 4 "contract
//! calls" (one slice per external contract call, named `Contract.action`; its end's `args`
//! give `contract`, `action`, `outcome` `committed`/`reverted`, `gas` and `instructions`).
//! Timestamps are
//! microseconds (with nanosecond decimals) since the first event, never decreasing per track,
//! and slices nest strictly per track: whatever is still open when the writer finishes
//! (after a runtime error, or when the trace was cut short) is closed then.
//!
//! `limit` bounds the events kept. Past it, nothing new is written except the ends of slices
//! already open (at most one per open slice) and one `trace truncated` instant; `otherData`
//! reports `truncated`, `events_kept` and `events_dropped`.

use std::io::{self, Write};
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Value as Json, json};

use super::event::{ARG_TEXT_LIMIT, ArgList, TraceEvent, summarize_value};
use super::sink::Listener;

/// The process id used for every event.
pub const PID: u32 = 1;
/// The VM track.
pub const TID_VM: u32 = 1;
/// The pipeline track (lex, parse, compile, optimize, link; cache).
pub const TID_PIPELINE: u32 = 2;
/// The JIT track.
pub const TID_JIT: u32 = 3;

/// Track of the external contract calls: one slice per call, its outcome and gas in `args`.
pub const TID_CONTRACTS: u32 = 4;
const TRACKS: [(u32, &str); 4] =
    [(TID_VM, "VM"), (TID_PIPELINE, "pipeline"), (TID_JIT, "JIT"), (TID_CONTRACTS, "contract calls")];

/// Longest printed line kept in a `print` instant, in characters.
const PRINT_TEXT_LIMIT: usize = 200;

#[derive(Serialize)]
struct ChromeEvent<'a, A: Serialize = Json> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cat: Option<&'a str>,
    ph: &'a str,
    ts: f64,
    pid: u32,
    tid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<A>,
}

/// A call's `args`: each parameter's summarized value, plus the call depth and, in a
/// multi-file program, the file of the function.
struct CallArgs<'a> {
    args: ArgList<'a>,
    depth: u32,
    file: Option<Rc<str>>,
}

impl Serialize for CallArgs<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.args.values.len() + 1))?;
        for (i, value) in self.args.values.iter().enumerate() {
            let summary = summarize_value(value, ARG_TEXT_LIMIT);
            match self.args.names.get(i) {
                Some(name) => map.serialize_entry(name, &summary)?,
                None => map.serialize_entry(&format!("arg{i}"), &summary)?,
            }
        }
        map.serialize_entry("depth", &self.depth)?;
        if let Some(file) = &self.file {
            map.serialize_entry("file", &**file)?;
        }
        map.end()
    }
}

#[derive(Debug, Default, Clone)]
struct Track {
    open: Vec<Rc<str>>,
    /// Slices begun after the limit was reached (neither begun nor ended in the file).
    suppressed: u64,
}

/// Figures about a written trace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChromeSummary {
    /// Events written (metadata not counted); exceeds the limit by at most the number of
    /// slices open when it was reached, whose ends are always written.
    pub events_kept: u64,
    /// Events dropped because of the limit.
    pub events_dropped: u64,
    /// True if the limit was reached.
    pub truncated: bool,
}

/// A [`Listener`] writing the Chrome trace of a run to `W`. Call [`ChromeTraceWriter::finish`]
/// at the end to close open slices and the JSON document.
#[derive(Debug)]
pub struct ChromeTraceWriter<W: Write> {
    out: W,
    error: Option<io::Error>,
    limit: u64,
    summary: ChromeSummary,
    header_written: bool,
    finished: bool,
    origin_ns: Option<u64>,
    last_ns: u64,
    tracks: [Track; 4],
    names: Vec<Option<Rc<str>>>,
    /// The file of each function (empty for a one-file program).
    files: Vec<Rc<str>>,
}

impl<W: Write> ChromeTraceWriter<W> {
    /// A writer keeping at most `limit` events.
    pub fn new(out: W, limit: u64) -> ChromeTraceWriter<W> {
        ChromeTraceWriter {
            out,
            error: None,
            limit,
            summary: ChromeSummary::default(),
            header_written: false,
            finished: false,
            origin_ns: None,
            last_ns: 0,
            tracks: Default::default(),
            names: Vec::new(),
            files: Vec::new(),
        }
    }

    /// Names the file of each function (by `FuncId`), written as `file` in the `args` of its
    /// calls (a multi-file program's trace; a one-file trace sets none).
    pub fn set_function_files(&mut self, files: Vec<String>) {
        self.files = files.into_iter().map(Rc::from).collect();
    }

    /// Names functions up front (by `FuncId`), for events that carry only an id.
    pub fn set_function_names(&mut self, names: Vec<String>) {
        self.names = names.into_iter().map(|n| Some(Rc::from(n))).collect();
    }

    /// The underlying writer (for tests and in-memory traces).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Figures so far.
    pub fn summary(&self) -> ChromeSummary {
        self.summary
    }

    fn func_name(&self, func: u32) -> String {
        match self.names.get(func as usize) {
            Some(Some(name)) => name.to_string(),
            _ => format!("fn#{func}"),
        }
    }

    /// The shared name of `func`, learning `name` the first time.
    fn remember_name(&mut self, func: u32, name: &str) -> Rc<str> {
        let idx = func as usize;
        if self.names.len() <= idx {
            self.names.resize(idx + 1, None);
        }
        match &self.names[idx] {
            Some(known) => known.clone(),
            None => {
                let shared: Rc<str> = Rc::from(name);
                self.names[idx] = Some(shared.clone());
                shared
            }
        }
    }

    fn ts(&self, at_ns: u64) -> f64 {
        at_ns.saturating_sub(self.origin_ns.unwrap_or(at_ns)) as f64 / 1000.0
    }

    fn track(&mut self, tid: u32) -> &mut Track {
        let idx = TRACKS.iter().position(|(t, _)| *t == tid).unwrap_or(0);
        &mut self.tracks[idx]
    }

    fn raw(&mut self, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.out.write_all(bytes)
        {
            self.error = Some(e);
        }
    }

    fn header(&mut self) {
        if self.header_written {
            return;
        }
        self.header_written = true;
        self.raw(b"{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
        let process = ChromeEvent {
            name: "process_name",
            cat: None,
            ph: "M",
            ts: 0.0,
            pid: PID,
            tid: TID_VM,
            s: None,
            args: Some(json!({"name": "zexus-tui"})),
        };
        self.write_event(&process, true);
        for (tid, name) in TRACKS {
            let thread =
                ChromeEvent { name: "thread_name", ph: "M", tid, args: Some(json!({"name": name})), ..process_meta() };
            self.write_event(&thread, false);
            let order = ChromeEvent {
                name: "thread_sort_index",
                ph: "M",
                tid,
                args: Some(json!({"sort_index": tid})),
                ..process_meta()
            };
            self.write_event(&order, false);
        }
    }

    fn write_event<A: Serialize>(&mut self, event: &ChromeEvent<'_, A>, first: bool) {
        if self.error.is_some() {
            return;
        }
        if !first {
            self.raw(b",\n");
        }
        if let Err(e) = serde_json::to_writer(&mut self.out, event) {
            self.error = Some(io::Error::other(e));
        }
    }

    /// Writes a counted event if the limit allows; returns false if it was dropped.
    fn counted<A: Serialize>(&mut self, event: &ChromeEvent<'_, A>) -> bool {
        if self.summary.events_kept >= self.limit {
            self.summary.events_dropped += 1;
            if !self.summary.truncated {
                self.summary.truncated = true;
                let note: ChromeEvent<'_> = ChromeEvent {
                    name: "trace truncated",
                    cat: Some("trace"),
                    ph: "i",
                    ts: event.ts,
                    pid: PID,
                    tid: TID_VM,
                    s: Some("g"),
                    args: Some(json!({"limit": self.limit})),
                };
                self.write_event(&note, false);
            }
            return false;
        }
        self.summary.events_kept += 1;
        self.write_event(event, false);
        true
    }

    fn begin<A: Serialize>(&mut self, at_ns: u64, tid: u32, name: Rc<str>, cat: &str, args: Option<A>) {
        let ev = ChromeEvent { name: &name, cat: Some(cat), ph: "B", ts: self.ts(at_ns), pid: PID, tid, s: None, args };
        if self.counted(&ev) {
            self.track(tid).open.push(name);
        } else {
            self.track(tid).suppressed += 1;
        }
    }

    fn end(&mut self, at_ns: u64, tid: u32, args: Option<Json>) {
        let ts = self.ts(at_ns);
        let track = self.track(tid);
        if track.suppressed > 0 {
            // The end of a slice whose begin was dropped is dropped too: count it.
            track.suppressed -= 1;
            self.summary.events_dropped += 1;
            return;
        }
        let Some(name) = track.open.pop() else { return };
        let ev: ChromeEvent<'_> = ChromeEvent { name: &name, cat: None, ph: "E", ts, pid: PID, tid, s: None, args };
        // Ends of open slices are written even past the limit (at most one per open slice).
        self.summary.events_kept += 1;
        self.write_event(&ev, false);
    }

    fn end_all(&mut self, at_ns: u64, tid: u32) {
        // Slices begun past the limit end here unwritten, like their begins.
        let suppressed = std::mem::take(&mut self.track(tid).suppressed);
        self.summary.events_dropped += suppressed;
        while !self.track(tid).open.is_empty() {
            self.end(at_ns, tid, None);
        }
    }

    fn instant(&mut self, at_ns: u64, tid: u32, name: &str, cat: &str, args: Json) {
        let ev: ChromeEvent<'_> = ChromeEvent {
            name,
            cat: Some(cat),
            ph: "i",
            ts: self.ts(at_ns),
            pid: PID,
            tid,
            s: Some("t"),
            args: Some(args),
        };
        self.counted(&ev);
    }

    fn counter(&mut self, at_ns: u64, name: &str, args: Json) {
        let ev: ChromeEvent<'_> = ChromeEvent {
            name,
            cat: Some("counter"),
            ph: "C",
            ts: self.ts(at_ns),
            pid: PID,
            tid: TID_VM,
            s: None,
            args: Some(args),
        };
        self.counted(&ev);
    }

    /// Closes every open slice, writes `otherData` and the end of the document, and flushes.
    /// Returns the first write error met during the whole trace, if any.
    pub fn finish(&mut self) -> io::Result<ChromeSummary> {
        if !self.finished {
            self.finished = true;
            self.header();
            let last = self.last_ns;
            for (tid, _) in TRACKS {
                self.end_all(last, tid);
            }
            let other = json!({
                "generator": "zexus-tui",
                "version": env!("CARGO_PKG_VERSION"),
                "trace_limit": self.limit,
                "truncated": self.summary.truncated,
                "events_kept": self.summary.events_kept,
                "events_dropped": self.summary.events_dropped,
            });
            self.raw(b"\n],\"otherData\":");
            let text = other.to_string();
            self.raw(text.as_bytes());
            self.raw(b"}\n");
            if self.error.is_none()
                && let Err(e) = self.out.flush()
            {
                self.error = Some(e);
            }
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(self.summary),
        }
    }
}

impl ChromeTraceWriter<Vec<u8>> {
    /// The complete document of the trace so far, as [`ChromeTraceWriter::finish`] would
    /// write it now, leaving this writer recording: open slices are closed in the copy only.
    pub fn finished_copy(&self) -> (Vec<u8>, ChromeSummary) {
        let mut copy = ChromeTraceWriter {
            out: self.out.clone(),
            error: None,
            limit: self.limit,
            summary: self.summary,
            header_written: self.header_written,
            finished: false,
            origin_ns: self.origin_ns,
            last_ns: self.last_ns,
            tracks: self.tracks.clone(),
            names: self.names.clone(),
            files: self.files.clone(),
        };
        // Writing into a `Vec` cannot fail.
        let summary = copy.finish().unwrap_or(copy.summary);
        (copy.out, summary)
    }
}

fn process_meta() -> ChromeEvent<'static> {
    ChromeEvent { name: "", cat: None, ph: "M", ts: 0.0, pid: PID, tid: TID_VM, s: None, args: None }
}

/// `Token.transfer` as (`Token`, `transfer`).
fn split_action(name: &str) -> (&str, &str) {
    name.split_once('.').unwrap_or(("", name))
}

fn truncate_chars(s: &str, limit: usize) -> String {
    let mut out: String = s.chars().take(limit).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

impl<W: Write> Listener for ChromeTraceWriter<W> {
    fn on_event(&mut self, at_ns: u64, event: &TraceEvent<'_>) {
        if self.finished {
            return;
        }
        self.header();
        if self.origin_ns.is_none() {
            self.origin_ns = Some(at_ns);
        }
        let at_ns = at_ns.max(self.last_ns);
        self.last_ns = at_ns;
        match *event {
            TraceEvent::PhaseBegin { phase } => {
                self.begin::<Json>(at_ns, TID_PIPELINE, Rc::from(phase.name()), "phase", None);
            }
            TraceEvent::PhaseEnd { .. } => self.end(at_ns, TID_PIPELINE, None),
            TraceEvent::OptPass { pass, removed, folded, jumps_threaded, fused, branches_resolved } => {
                let args = json!({"pass": pass, "removed": removed, "folded": folded, "jumps_threaded": jumps_threaded, "fused": fused, "branches_resolved": branches_resolved});
                self.instant(at_ns, TID_PIPELINE, &format!("pass {pass}"), "optimizer", args);
            }
            TraceEvent::RunStart => {
                let name = self.remember_name(0, "<main>");
                self.begin::<Json>(at_ns, TID_VM, name, "run", None);
            }
            TraceEvent::RunEnd { outcome, instructions, gas } => {
                let args = json!({"outcome": outcome, "instructions": instructions, "gas": gas});
                self.end_all_with(at_ns, args);
            }
            TraceEvent::Instr { .. } => {}
            TraceEvent::Call { func, name, depth, args, .. } => {
                let name = self.remember_name(func, name);
                let file = self.files.get(func as usize).cloned();
                self.begin(at_ns, TID_VM, name, "call", Some(CallArgs { args, depth, file }));
            }
            TraceEvent::Return { .. } => {
                // The top-level slice ends with the run, not with a stray return.
                if self.tracks[0].open.len() > 1 || self.tracks[0].suppressed > 0 {
                    self.end(at_ns, TID_VM, None);
                }
            }
            TraceEvent::Error { kind, message, depth, gas, .. } => {
                let args = json!({"kind": kind, "message": message, "depth": depth, "gas": gas});
                self.instant(at_ns, TID_VM, "runtime error", "error", args);
                self.end_all(at_ns, TID_VM);
            }
            TraceEvent::Caught { message, thrown, func, pc, from_depth, to_depth, finally, .. } => {
                let args = json!({
                    "message": message,
                    "thrown": thrown,
                    "function": self.func_name(func),
                    "pc": pc,
                    "from_depth": from_depth,
                    "to_depth": to_depth,
                    "handler": if finally { "finally" } else { "catch" },
                });
                self.instant(at_ns, TID_VM, "caught", "error", args);
            }
            TraceEvent::Print { text } => {
                self.instant(at_ns, TID_VM, "print", "output", json!({"text": truncate_chars(text, PRINT_TEXT_LIMIT)}));
            }
            TraceEvent::LoopHot { func, loop_id, iterations } => {
                let args = json!({"function": self.func_name(func), "loop_id": loop_id, "iterations": iterations});
                self.instant(at_ns, TID_VM, "loop hot", "jit", args);
            }
            TraceEvent::JitCompileStart { func, loop_id } => {
                let name = format!("jit compile {} loop {loop_id}", self.func_name(func));
                self.begin(at_ns, TID_JIT, Rc::from(name), "jit", Some(json!({"function": func, "loop_id": loop_id})));
            }
            TraceEvent::JitCompileEnd { compiled, native_bytes, reason, .. } => {
                let args = json!({"compiled": compiled, "native_bytes": native_bytes, "reason": reason});
                self.end(at_ns, TID_JIT, Some(args));
            }
            TraceEvent::JitBailout { func, loop_id, pc, reason } => {
                let args = json!({"function": self.func_name(func), "loop_id": loop_id, "pc": pc, "reason": reason});
                self.instant(at_ns, TID_JIT, "bail-out", "jit", args);
            }
            TraceEvent::CacheHit { key } => {
                self.instant(at_ns, TID_PIPELINE, "cache hit", "cache", json!({"key": format!("{key:016x}")}));
            }
            TraceEvent::CacheMiss { key } => {
                self.instant(at_ns, TID_PIPELINE, "cache miss", "cache", json!({"key": format!("{key:016x}")}));
            }
            TraceEvent::TxBegin { depth } => self.instant(at_ns, TID_VM, "TX_BEGIN", "tx", json!({"depth": depth})),
            TraceEvent::TxCommit { depth, keys } => {
                self.instant(at_ns, TID_VM, "TX_COMMIT", "tx", json!({"depth": depth, "keys": keys}));
            }
            TraceEvent::TxRollback { depth, keys } => {
                self.instant(at_ns, TID_VM, "TX_ROLLBACK", "tx", json!({"depth": depth, "keys": keys}));
            }
            TraceEvent::ActionCall { name, depth, tx_depth, gas, .. } => {
                let (contract, action) = split_action(name);
                let args = json!({"contract": contract, "action": action, "depth": depth, "tx_depth": tx_depth, "gas_before": gas});
                self.begin(at_ns, TID_CONTRACTS, Rc::from(name), "action", Some(args));
            }
            TraceEvent::ActionEnd { name, outcome, gas_used, instructions, .. } => {
                let (contract, action) = split_action(name);
                let args = json!({
                    "contract": contract,
                    "action": action,
                    "outcome": outcome,
                    "gas": gas_used,
                    "instructions": instructions,
                });
                self.end(at_ns, TID_CONTRACTS, Some(args));
            }
            TraceEvent::StateAccess { write, key, depth } => {
                let name = if write { "STATE write" } else { "STATE read" };
                self.instant(at_ns, TID_VM, name, "state", json!({"key": truncate_chars(key, 80), "depth": depth}));
            }
            TraceEvent::Counters { instructions, gas, gas_limit, depth } => {
                self.counter(at_ns, "instructions", json!({"instructions": instructions}));
                self.counter(at_ns, "stack depth", json!({"depth": depth}));
                match gas_limit {
                    Some(limit) => self.counter(at_ns, "gas", json!({"gas": gas, "limit": limit})),
                    None => self.counter(at_ns, "gas", json!({"gas": gas})),
                }
            }
            // One per entry into native code: too many for a timeline (the flame graph
            // counts them; the JIT's slices are the compile events).
            TraceEvent::NativeRun { .. } => {}
        }
    }
}

impl<W: Write> ChromeTraceWriter<W> {
    fn end_all_with(&mut self, at_ns: u64, args: Json) {
        self.summary.events_dropped += std::mem::take(&mut self.tracks[0].suppressed);
        while self.tracks[0].open.len() > 1 {
            self.end(at_ns, TID_VM, None);
        }
        self.end(at_ns, TID_VM, Some(args));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::event::ArgList;

    fn events_of(writer: &mut ChromeTraceWriter<Vec<u8>>) -> Vec<Json> {
        assert!(writer.finish().is_ok());
        let doc: Json = serde_json::from_slice(writer.get_mut()).unwrap_or_default();
        doc["traceEvents"].as_array().cloned().unwrap_or_default()
    }

    fn call(func: u32, name: &str) -> TraceEvent<'_> {
        TraceEvent::Call { func, name, depth: func, gas: 0, instructions: 0, args: ArgList::EMPTY }
    }

    #[test]
    fn jit_and_cache_events_go_to_their_tracks() {
        let mut w = ChromeTraceWriter::new(Vec::new(), 100);
        w.set_function_names(vec!["<main>".to_string(), "loop_fn".to_string()]);
        w.on_event(0, &TraceEvent::CacheMiss { key: 0xab });
        w.on_event(1000, &TraceEvent::RunStart);
        w.on_event(2000, &TraceEvent::JitCompileStart { func: 1, loop_id: 0 });
        let end = TraceEvent::JitCompileEnd { func: 1, loop_id: 0, compiled: true, native_bytes: 64, reason: None };
        w.on_event(3500, &end);
        w.on_event(4000, &TraceEvent::JitBailout { func: 1, loop_id: 0, pc: 7, reason: "type guard" });
        let events = events_of(&mut w);
        let find = |name: &str, ph: &str| events.iter().find(|e| e["name"] == name && e["ph"] == ph).cloned();
        let miss = find("cache miss", "i").unwrap_or_default();
        assert_eq!((miss["tid"].as_u64(), miss["args"]["key"].as_str()), (Some(2), Some("00000000000000ab")));
        let compile = find("jit compile loop_fn loop 0", "B").unwrap_or_default();
        assert_eq!((compile["tid"].as_u64(), compile["ts"].as_f64()), (Some(3), Some(2.0)));
        let compiled = find("jit compile loop_fn loop 0", "E").unwrap_or_default();
        assert_eq!((compiled["ts"].as_f64(), compiled["args"]["native_bytes"].as_u64()), (Some(3.5), Some(64)));
        let bail = find("bail-out", "i").unwrap_or_default();
        assert_eq!((bail["tid"].as_u64(), bail["args"]["reason"].as_str()), (Some(3), Some("type guard")));
        // The run slice left open is closed at the last event.
        let main_end = find("<main>", "E").unwrap_or_default();
        assert_eq!(main_end["ts"].as_f64(), Some(4.0));
    }

    #[test]
    fn past_the_limit_only_open_slices_are_closed() {
        let mut w = ChromeTraceWriter::new(Vec::new(), 3);
        w.on_event(0, &TraceEvent::RunStart);
        w.on_event(10, &call(1, "a"));
        w.on_event(20, &call(2, "b"));
        w.on_event(30, &call(3, "c"));
        w.on_event(40, &TraceEvent::Return { func: 3, name: "c", depth: 3, gas: 0, instructions: 0 });
        w.on_event(50, &TraceEvent::Return { func: 2, name: "b", depth: 2, gas: 0, instructions: 0 });
        w.on_event(60, &TraceEvent::Print { text: "dropped" });
        let summary = w.summary();
        assert!(summary.truncated);
        // The begin and the end of `c`, and the print.
        assert_eq!(summary.events_dropped, 3);
        let events = events_of(&mut w);
        let timed: Vec<(String, String)> = events
            .iter()
            .filter(|e| e["ph"] != "M")
            .map(|e| (e["ph"].as_str().unwrap_or("").to_string(), e["name"].as_str().unwrap_or("").to_string()))
            .collect();
        let expected = [
            ("B", "<main>"),
            ("B", "a"),
            ("B", "b"),
            ("i", "trace truncated"),
            ("E", "b"),
            ("E", "a"),
            ("E", "<main>"),
        ];
        let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(timed, expected);
    }
}
