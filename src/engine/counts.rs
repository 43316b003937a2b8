//! Exact execution counts of a session: how often each instruction ran, whether the
//! interpreter or the JIT's native code ran it, and the per-line figures derived from them.
//!
//! Counting is off unless asked for ([`Session::enable_exec_counts`]; the debugger always asks).
//! The interpreter then records each straight-line run it executes (two increments per taken
//! jump, call or return, see `vm::exec_counts`), and loops compiled from then on count their
//! block entries in native code (see [`crate::jit::Jit::add_instruction_counts`]), so counts
//! stay exact while hot loops run as machine code and nothing single-steps.

use super::Session;
use super::snapshot::{FunctionInfo, LineCounts, ProfileView};

impl Session {
    /// Starts counting how often each instruction runs, from now on, in this VM and in the
    /// VMs of later reloads.
    pub fn enable_exec_counts(&mut self) {
        self.text.counting = true;
        self.vm.enable_exec_counts();
        if let Some(jit) = &self.jit {
            jit.borrow_mut().set_counting(true);
        }
    }

    /// Times each instruction of the optimized code ran, per function (proto id), per pc:
    /// interpreted and native runs together. `None` while counting is off.
    pub fn exec_counts(&self) -> Option<Vec<Vec<u64>>> {
        let mut counts = self.vm.exec_counts()?.counts();
        if let Some(jit) = &self.jit {
            jit.borrow().add_instruction_counts(&mut counts);
        }
        Some(counts)
    }

    /// The counts with their per-line totals, for snapshots (`None` while counting is off);
    /// `line_counts` gives each file's number of lines, the main file first.
    pub fn profile_view(&self, functions: &[FunctionInfo], line_counts: &[usize]) -> Option<ProfileView> {
        let instructions = self.exec_counts()?;
        Some(profile_view(instructions, functions, line_counts))
    }
}

/// Per-line figures from per-instruction counts, per file (each function's rows give lines of
/// its own file): instructions executed on each line, and the times each line ran (the count
/// of its most-executed instruction).
pub fn profile_view(instructions: Vec<Vec<u64>>, functions: &[FunctionInfo], line_counts: &[usize]) -> ProfileView {
    let mut files: Vec<LineCounts> =
        line_counts.iter().map(|&n| LineCounts { lines: vec![0u64; n + 2], line_hits: vec![0u64; n + 2] }).collect();
    for (f, counts) in functions.iter().zip(&instructions) {
        let Some(file) = files.get_mut(f.file as usize) else { continue };
        for (pc, &n) in counts.iter().enumerate().take(f.optimized.len()) {
            let line = f.line_of(pc as u32) as usize;
            if let Some(total) = file.lines.get_mut(line) {
                *total = total.saturating_add(n);
            }
            if let Some(hits) = file.line_hits.get_mut(line) {
                *hits = (*hits).max(n);
            }
        }
    }
    let max_instruction = instructions.iter().flatten().copied().max().unwrap_or(0);
    let max_line_hits = files.iter().flat_map(|f| f.line_hits.iter().copied()).max().unwrap_or(0);
    let mut files = files.into_iter();
    let main = files.next().unwrap_or_default();
    ProfileView {
        instructions,
        lines: main.lines,
        line_hits: main.line_hits,
        modules: files.collect(),
        max_instruction,
        max_line_hits,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::engine::Options;
    use crate::engine::Session;
    use crate::vm::interp::{Halt, VmConfig};

    /// Counts by single-stepping: the reference every other mode must equal.
    fn stepped(src: &str) -> Vec<Vec<u64>> {
        let options = Options { jit: crate::engine::jit_policy::JitPolicy { enabled: false }, ..Options::default() };
        let mut session = Session::builder(src).options(&options).build().expect("builds");
        let mut seen: HashMap<(u32, usize), u64> = HashMap::new();
        loop {
            if let Some(frame) = session.vm.frames.last() {
                *seen.entry((frame.proto.id, frame.ip)).or_default() += 1;
            }
            match session.vm.run(1) {
                Halt::Budget => {}
                _ => break,
            }
        }
        session
            .vm
            .program
            .protos
            .iter()
            .map(|p| (0..p.code.len()).map(|pc| seen.get(&(p.id, pc)).copied().unwrap_or(0)).collect())
            .collect()
    }

    fn counted(src: &str, jit: bool, threshold: u64) -> (Vec<Vec<u64>>, u64, u64) {
        let options = Options {
            vm: VmConfig { hot_threshold: threshold, ..VmConfig::default() },
            jit: crate::engine::jit_policy::JitPolicy { enabled: jit },
            ..Options::default()
        };
        let mut session = Session::builder(src).options(&options).build().expect("builds");
        session.enable_exec_counts();
        session.run_to_end();
        let native = session.vm.counters.jit_instructions;
        let bailouts = session.jit_summary().bailouts;
        (session.exec_counts().expect("counting"), native, bailouts)
    }

    /// Checks the counts against single-stepping; returns the JIT's bail-outs.
    fn check(src: &str) -> u64 {
        let reference = stepped(src);
        let (interpreted, _, _) = counted(src, false, 100);
        assert_eq!(interpreted, reference, "interpreter counts");
        let (jitted, native, bailouts) = counted(src, true, 2);
        assert_eq!(jitted, reference, "counts with the JIT");
        if crate::jit::AVAILABLE {
            assert!(native > 0, "the loop ran as native code");
        }
        bailouts
    }

    #[test]
    fn counts_are_exact_with_and_without_native_code() {
        check(
            "action f(n) {\n  let s = 0\n  let i = 0\n  while (i < n) {\n    if (i % 3 == 0) { s = s + i } else { s = s - 1 }\n    i = i + 1\n  }\n  return s\n}\nlet t = 0\nlet k = 0\nwhile (k < 40) { t = t + f(k * 7); k = k + 1 }\nprint(t)\n",
        );
    }

    #[test]
    fn counts_stay_exact_across_bail_outs() {
        // The variable turns from an integer into a float and a string mid-loop: guards fail
        // in the middle of a block, and the loop is eventually blacklisted.
        let bailouts = check(
            "let x = 0\nlet i = 0\nwhile (i < 3000) {\n  x = x + 1\n  if (i % 50 == 49) { x = 0.5 }\n  if (i == 2500) { x = \"s\" }\n  if (i > 2500) { x = 1 }\n  i = i + 1\n}\nprint(x, i)\n",
        );
        assert!(!crate::jit::AVAILABLE || bailouts > 0, "the guards failed in native code");
    }

    #[test]
    fn counts_stay_exact_when_a_runtime_error_ends_the_loop() {
        let src = "let a = 9223372036854775000\nlet i = 0\nwhile (i < 1000) {\n  a = a + 1\n  i = i + 1\n}\n";
        let bailouts = check(src);
        assert!(!crate::jit::AVAILABLE || bailouts > 0, "the overflow check failed in native code");
    }
}
