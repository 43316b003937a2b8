//! speedscope export: the run's calls as one "evented" profile (open/close frame events in
//! nanoseconds), for flame graphs at <https://www.speedscope.app>. Events are buffered (at
//! most `limit`) and written at the end, because the format lists the frames first.

use std::collections::HashMap;
use std::io::{self, Write};

use serde::Serialize;

use super::event::{FuncId, TraceEvent};
use super::sink::Listener;

/// Where a function lives, for the frame table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameInfo {
    /// Display name.
    pub name: String,
    /// Source file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line of the definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct FrameEvent {
    #[serde(rename = "type")]
    kind: &'static str,
    frame: u32,
    at: u64,
}

#[derive(Serialize)]
struct Shared<'a> {
    frames: &'a [FrameInfo],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventedProfile<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    unit: &'static str,
    start_value: u64,
    end_value: u64,
    events: &'a [FrameEvent],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct File<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    shared: Shared<'a>,
    profiles: Vec<EventedProfile<'a>>,
    name: &'a str,
    active_profile_index: u32,
    exporter: &'static str,
}

/// A [`Listener`] collecting call events; [`SpeedscopeWriter::write_to`] writes the file.
#[derive(Debug, Default)]
pub struct SpeedscopeWriter {
    name: String,
    limit: usize,
    frames: Vec<FrameInfo>,
    preset: Vec<FrameInfo>,
    frame_of: HashMap<FuncId, u32>,
    events: Vec<FrameEvent>,
    stack: Vec<u32>,
    suppressed: u64,
    dropped: u64,
    origin_ns: Option<u64>,
    last_ns: u64,
}

impl SpeedscopeWriter {
    /// A writer naming the profile `name` and keeping at most `limit` events.
    pub fn new(name: &str, limit: usize) -> SpeedscopeWriter {
        SpeedscopeWriter { name: name.to_string(), limit, ..SpeedscopeWriter::default() }
    }

    /// Gives the frame details of each function (by `FuncId`) up front.
    pub fn set_frames(&mut self, frames: Vec<FrameInfo>) {
        self.preset = frames;
    }

    /// Events dropped because of the limit.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn frame(&mut self, func: FuncId, name: &str) -> u32 {
        if let Some(&idx) = self.frame_of.get(&func) {
            return idx;
        }
        let info = match self.preset.get(func as usize) {
            Some(info) => info.clone(),
            None => FrameInfo { name: name.to_string(), file: None, line: None },
        };
        let idx = self.frames.len() as u32;
        self.frames.push(info);
        self.frame_of.insert(func, idx);
        idx
    }

    fn rel(&self, at_ns: u64) -> u64 {
        at_ns.saturating_sub(self.origin_ns.unwrap_or(at_ns))
    }

    fn open(&mut self, at_ns: u64, func: FuncId, name: &str) {
        if self.events.len() >= self.limit {
            self.suppressed += 1;
            self.dropped += 1;
            return;
        }
        let frame = self.frame(func, name);
        self.events.push(FrameEvent { kind: "O", frame, at: self.rel(at_ns) });
        self.stack.push(frame);
    }

    fn close(&mut self, at_ns: u64) {
        if self.suppressed > 0 {
            self.suppressed -= 1;
            return;
        }
        if let Some(frame) = self.stack.pop() {
            self.events.push(FrameEvent { kind: "C", frame, at: self.rel(at_ns) });
        }
    }

    fn close_all(&mut self, at_ns: u64) {
        self.suppressed = 0;
        while !self.stack.is_empty() {
            self.close(at_ns);
        }
    }

    /// Writes the speedscope JSON file; frames still open are closed at the last event.
    pub fn write_to<W: Write>(&self, out: W) -> io::Result<()> {
        let end = self.rel(self.last_ns);
        let mut events = self.events.clone();
        for &frame in self.stack.iter().rev() {
            events.push(FrameEvent { kind: "C", frame, at: end });
        }
        let file = File {
            schema: "https://www.speedscope.app/file-format-schema.json",
            shared: Shared { frames: &self.frames },
            profiles: vec![EventedProfile {
                kind: "evented",
                name: &self.name,
                unit: "nanoseconds",
                start_value: 0,
                end_value: end,
                events: &events,
            }],
            name: &self.name,
            active_profile_index: 0,
            exporter: concat!("zexus-tui ", env!("CARGO_PKG_VERSION")),
        };
        let mut out = out;
        serde_json::to_writer(&mut out, &file).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
        out.flush()
    }
}

impl Listener for SpeedscopeWriter {
    fn on_event(&mut self, at_ns: u64, event: &TraceEvent<'_>) {
        if self.origin_ns.is_none() {
            self.origin_ns = Some(at_ns);
        }
        let at_ns = at_ns.max(self.last_ns);
        self.last_ns = at_ns;
        match *event {
            TraceEvent::RunStart => self.open(at_ns, 0, "<main>"),
            TraceEvent::Call { func, name, .. } => self.open(at_ns, func, name),
            TraceEvent::Return { .. } if self.stack.len() > 1 || self.suppressed > 0 => self.close(at_ns),
            TraceEvent::Error { .. } | TraceEvent::RunEnd { .. } => self.close_all(at_ns),
            _ => {}
        }
    }
}
