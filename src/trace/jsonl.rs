//! The raw event stream as JSON Lines: a `header` record, then one record per event in the
//! `{"at_ns": N, "type": ..., "data": {...}}` envelope (see [`super::TraceEvent`] for the
//! types and fields), then a `summary` record. Streamed; at most `limit` event records.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::json;

use super::event::TraceEvent;
use super::sink::Listener;

/// Version of the JSON Lines layout.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Envelope<T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: T,
}

#[derive(Serialize)]
struct Record<'a, 'b> {
    at_ns: u64,
    #[serde(flatten)]
    event: &'a TraceEvent<'b>,
}

/// A [`Listener`] writing every event (instructions included only if `instructions` was
/// asked for) as one JSON line to `W`.
#[derive(Debug)]
pub struct JsonLinesWriter<W: Write> {
    out: W,
    error: Option<io::Error>,
    limit: u64,
    kept: u64,
    dropped: u64,
    instructions: bool,
    header_written: bool,
    finished: bool,
}

impl<W: Write> JsonLinesWriter<W> {
    /// A writer keeping at most `limit` events; `instructions` asks for instruction events.
    pub fn new(out: W, limit: u64, instructions: bool) -> JsonLinesWriter<W> {
        JsonLinesWriter {
            out,
            error: None,
            limit,
            kept: 0,
            dropped: 0,
            instructions,
            header_written: false,
            finished: false,
        }
    }

    fn line(&mut self, value: &impl Serialize) {
        if self.error.is_some() {
            return;
        }
        let res = serde_json::to_writer(&mut self.out, value)
            .map_err(io::Error::other)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(e) = res {
            self.error = Some(e);
        }
    }

    fn header(&mut self) {
        if !self.header_written {
            self.header_written = true;
            let data = json!({"format_version": FORMAT_VERSION, "generator": "zexus-tui", "version": env!("CARGO_PKG_VERSION"), "time_unit": "ns"});
            let header = Envelope { kind: "header", data };
            self.line(&header);
        }
    }

    /// The underlying writer (for tests and in-memory streams).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Writes the `summary` record and flushes; returns the first write error, if any.
    pub fn finish(&mut self) -> io::Result<()> {
        if !self.finished {
            self.finished = true;
            self.header();
            let data = json!({"events_kept": self.kept, "events_dropped": self.dropped, "truncated": self.dropped > 0});
            let summary = Envelope { kind: "summary", data };
            self.line(&summary);
            if self.error.is_none()
                && let Err(e) = self.out.flush()
            {
                self.error = Some(e);
            }
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<W: Write> Listener for JsonLinesWriter<W> {
    fn on_event(&mut self, at_ns: u64, event: &TraceEvent<'_>) {
        if self.finished {
            return;
        }
        self.header();
        if self.kept >= self.limit {
            self.dropped += 1;
            return;
        }
        self.kept += 1;
        self.line(&Record { at_ns, event });
    }

    fn wants_instructions(&self) -> bool {
        self.instructions
    }
}
