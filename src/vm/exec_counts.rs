//! Exact per-instruction execution counts kept by the interpreter, at the cost of two
//! increments per straight-line run of instructions rather than one per instruction.
//!
//! The dispatch loop already knows the runs it executes: it charges fuel for `block_start..ip`
//! at every taken jump, call, return and exit. When counting is on, it also records each such
//! run here as a difference array (`+1` at its first instruction, `-1` just past its last), so
//! the count of an instruction is the prefix sum up to it. Nothing is recorded, and nothing is
//! allocated, while counting is off.

/// Per function (by proto id), a difference array over its instructions.
#[derive(Debug, Clone, Default)]
pub struct ExecCounts {
    /// `diffs[f][pc]`: runs starting at `pc` minus runs ending just before `pc` (wrapping).
    diffs: Vec<Vec<u64>>,
}

impl ExecCounts {
    /// Counters for functions with these instruction counts (index = proto id).
    pub fn new(code_lens: impl IntoIterator<Item = usize>) -> ExecCounts {
        ExecCounts { diffs: code_lens.into_iter().map(|n| vec![0; n + 2]).collect() }
    }

    /// Records that instructions `start..end` of function `func` each ran once.
    #[inline]
    pub fn record(&mut self, func: u32, start: usize, end: usize) {
        if start >= end {
            return;
        }
        if let Some(diff) = self.diffs.get_mut(func as usize) {
            if let Some(d) = diff.get_mut(start) {
                *d = d.wrapping_add(1);
            }
            if let Some(d) = diff.get_mut(end) {
                *d = d.wrapping_sub(1);
            }
        }
    }

    /// Times each instruction ran, per function (index = proto id), per pc.
    pub fn counts(&self) -> Vec<Vec<u64>> {
        self.diffs
            .iter()
            .map(|diff| {
                let n = diff.len().saturating_sub(2);
                let mut running = 0u64;
                diff.iter()
                    .take(n)
                    .map(|d| {
                        running = running.wrapping_add(*d);
                        running
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_runs_add_up() {
        let mut c = ExecCounts::new([5, 2]);
        c.record(0, 0, 5);
        c.record(0, 2, 4);
        c.record(0, 4, 5);
        c.record(1, 1, 2);
        c.record(0, 3, 3);
        c.record(7, 0, 1);
        assert_eq!(c.counts(), vec![vec![1, 1, 2, 2, 2], vec![0, 1]]);
    }

    #[test]
    fn a_run_past_the_end_is_clipped() {
        let mut c = ExecCounts::new([3]);
        c.record(0, 1, 4);
        c.record(0, 2, 99);
        assert_eq!(c.counts(), vec![vec![0, 1, 2]]);
    }
}
