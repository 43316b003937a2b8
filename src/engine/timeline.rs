//! The time-travel timeline as plain data: where the debugger is in the run (an instruction
//! count), how far the run has gone, and the VM events marked along the way.

use serde::Serialize;

pub use super::recorder::MarkKind;

/// Marks kept on the timeline at most; past this, every other one is dropped (the timeline
/// thins out evenly instead of losing its end).
pub const MAX_TIMELINE_MARKS: usize = 2_048;

/// The run so far, as the timeline scrubber shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// Instructions executed to reach the current state (the position `k`).
    pub position: u64,
    /// The furthest position the run reached since its start (the timeline's end).
    pub horizon: u64,
    /// VM events along the run, by position, oldest first.
    pub marks: Vec<TimelineMark>,
    /// Bytes the time-travel record holds (the slice history and these marks).
    pub record_bytes: u64,
}

/// One marked VM event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineMark {
    /// Its position: the instruction count after the event (for a bail-out seen during a free
    /// run, and a JIT compile in a slice ending past the first 4M instructions, the end of the
    /// slice it happened in).
    pub at: u64,
    /// What happened.
    pub kind: MarkKind,
    /// One line about it.
    pub label: String,
}

impl Timeline {
    /// True once the debugger stands before the end of the run (it travelled back).
    pub fn travelled_back(&self) -> bool {
        self.position < self.horizon
    }

    /// The last mark strictly before `position` (reverse continue's event stops).
    pub fn mark_before(&self, position: u64) -> Option<&TimelineMark> {
        self.marks.iter().rev().find(|m| m.at < position)
    }

    /// Adds a mark (at or after the last one), thinning the marks when full.
    pub fn push(&mut self, mark: TimelineMark) {
        if self.marks.len() >= MAX_TIMELINE_MARKS {
            let mut i = 0;
            self.marks.retain(|_| {
                i += 1;
                i % 2 == 0
            });
        }
        self.marks.push(mark);
    }
}
