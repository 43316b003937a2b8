//! The call tree behind the flame graph: a [`Listener`] that aggregates the run's calls per
//! stack (one node per distinct path from `<main>`), with each node's calls, own
//! instructions and time, and the part of them that ran as native code.
//!
//! Attribution is exact for instructions: call, return, error and counter events carry the
//! VM's instruction count, so every instruction between two events belongs to the frame on
//! top of the stack then. Time is the clock of the events (what the sink stamps them with).
//! Native work comes from `native_run` events, which follow each entry into compiled code
//! and are charged to the frame that runs the loop (native code never calls).
//!
//! The tree is bounded: past [`MAX_NODES`] distinct stacks, a new stack is charged to its
//! caller's node (and counted in [`FlameTree::folded_calls`]), so a program with endlessly
//! varied recursion cannot exhaust memory.

use super::event::{FuncId, TraceEvent};
use super::sink::Listener;

/// Most distinct stacks kept.
pub const MAX_NODES: usize = 50_000;

/// One stack: the path from `<main>` to a function, and what ran with it on top.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TreeNode {
    /// The function on top of this stack.
    pub func: FuncId,
    /// The caller's node (`None` for the root, `<main>`).
    pub parent: Option<u32>,
    /// Callee nodes, in the order first called.
    pub children: Vec<u32>,
    /// Times this stack was entered.
    pub calls: u64,
    /// Instructions run with this stack on top (native ones included).
    pub self_instructions: u64,
    /// Of those, instructions run as native code.
    pub native_instructions: u64,
    /// Nanoseconds with this stack on top (native ones included).
    pub self_ns: u64,
    /// Of those, nanoseconds in native code.
    pub native_ns: u64,
}

/// The tree so far (node 0 is `<main>` once the run started).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlameTree {
    /// The nodes; a node's index is greater than its parent's.
    pub nodes: Vec<TreeNode>,
    /// Function names by id, from the call events (`<main>` for 0).
    pub names: Vec<String>,
    /// Calls charged to their caller's node because the tree was full.
    pub folded_calls: u64,
}

impl FlameTree {
    /// The display name of function `func`.
    pub fn name(&self, func: FuncId) -> &str {
        match self.names.get(func as usize) {
            Some(name) if !name.is_empty() => name,
            _ if func == 0 => "<main>",
            _ => "?",
        }
    }
}

/// The listener. Attach it to the session's sink; [`FlameRecorder::tree`] reads the tree at
/// any moment (a paused or running program gives the tree up to its latest event).
#[derive(Debug, Clone, Default)]
pub struct FlameRecorder {
    tree: FlameTree,
    /// Node indices of the open activations, outermost first.
    stack: Vec<u32>,
    last_instructions: u64,
    last_ns: u64,
}

impl FlameRecorder {
    /// An empty recorder.
    pub fn new() -> FlameRecorder {
        FlameRecorder::default()
    }

    /// The tree so far.
    pub fn tree(&self) -> &FlameTree {
        &self.tree
    }

    /// Forgets everything (a restart).
    pub fn reset(&mut self) {
        *self = FlameRecorder::default();
    }

    /// Time up to `now_ns` is charged to no frame (the run was paused until then).
    pub fn resume_clock(&mut self, now_ns: u64) {
        self.last_ns = self.last_ns.max(now_ns);
    }

    fn name_function(&mut self, func: FuncId, name: &str) {
        let idx = func as usize;
        if self.tree.names.len() <= idx {
            self.tree.names.resize(idx + 1, String::new());
        }
        if self.tree.names[idx].is_empty() {
            self.tree.names[idx] = name.to_string();
        }
    }

    /// Charges the instructions and time since the last mark to the stack on top.
    fn charge(&mut self, at_ns: u64, instructions: u64) {
        let d_instr = instructions.saturating_sub(self.last_instructions);
        let d_ns = at_ns.saturating_sub(self.last_ns);
        self.last_instructions = self.last_instructions.max(instructions);
        self.last_ns = self.last_ns.max(at_ns);
        if let Some(node) = self.stack.last().and_then(|&i| self.tree.nodes.get_mut(i as usize)) {
            node.self_instructions += d_instr;
            node.self_ns += d_ns;
        }
    }

    /// Opens the root activation if none is open (the run started, or events arrive after a
    /// replay that muted the start).
    fn ensure_root(&mut self, at_ns: u64) {
        if !self.stack.is_empty() {
            return;
        }
        if self.tree.nodes.is_empty() {
            self.name_function(0, "<main>");
            self.tree.nodes.push(TreeNode { func: 0, ..TreeNode::default() });
            self.last_ns = at_ns;
        }
        self.tree.nodes[0].calls += 1;
        self.stack.push(0);
    }

    fn enter(&mut self, func: FuncId, name: &str) {
        self.name_function(func, name);
        let Some(&top) = self.stack.last() else { return };
        let existing =
            self.tree.nodes[top as usize].children.iter().copied().find(|&c| self.tree.nodes[c as usize].func == func);
        let node = match existing {
            Some(c) => c,
            None if self.tree.nodes.len() < MAX_NODES => {
                let idx = self.tree.nodes.len() as u32;
                self.tree.nodes.push(TreeNode { func, parent: Some(top), ..TreeNode::default() });
                self.tree.nodes[top as usize].children.push(idx);
                idx
            }
            None => {
                self.tree.folded_calls += 1;
                self.stack.push(top);
                return;
            }
        };
        self.tree.nodes[node as usize].calls += 1;
        self.stack.push(node);
    }
}

impl Listener for FlameRecorder {
    fn on_event(&mut self, at_ns: u64, event: &TraceEvent<'_>) {
        match *event {
            TraceEvent::RunStart => {
                self.last_ns = self.last_ns.max(at_ns);
                self.ensure_root(at_ns);
            }
            TraceEvent::Call { func, name, instructions, .. } => {
                self.ensure_root(at_ns);
                // The call instruction itself belongs to the caller.
                self.charge(at_ns, instructions);
                self.enter(func, name);
            }
            TraceEvent::Return { instructions, .. } => {
                self.charge(at_ns, instructions);
                if self.stack.len() > 1 {
                    self.stack.pop();
                }
            }
            TraceEvent::Caught { instructions, .. } | TraceEvent::Counters { instructions, .. } => {
                self.charge(at_ns, instructions);
            }
            TraceEvent::Error { instructions, .. } | TraceEvent::RunEnd { instructions, .. } => {
                self.charge(at_ns, instructions);
                self.stack.clear();
            }
            TraceEvent::NativeRun { instructions, ns, .. } => {
                self.ensure_root(at_ns);
                if let Some(node) = self.stack.last().and_then(|&i| self.tree.nodes.get_mut(i as usize)) {
                    node.native_instructions += instructions;
                    node.native_ns += ns;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::event::ArgList;

    fn call(r: &mut FlameRecorder, at: u64, func: FuncId, name: &str, instructions: u64) {
        r.on_event(at, &TraceEvent::Call { func, name, depth: 0, gas: 0, instructions, args: ArgList::EMPTY });
    }

    fn ret(r: &mut FlameRecorder, at: u64, instructions: u64) {
        r.on_event(at, &TraceEvent::Return { func: 0, name: "", depth: 0, gas: 0, instructions });
    }

    #[test]
    fn stacks_get_their_own_nodes_and_instructions_their_frames() {
        let mut r = FlameRecorder::new();
        r.on_event(0, &TraceEvent::RunStart);
        call(&mut r, 10, 1, "f", 3);
        call(&mut r, 20, 2, "g", 5);
        r.on_event(25, &TraceEvent::NativeRun { func: 2, loop_id: 0, instructions: 4, ns: 3 });
        ret(&mut r, 30, 12);
        ret(&mut r, 40, 13);
        call(&mut r, 50, 2, "g", 15);
        ret(&mut r, 60, 17);
        r.on_event(70, &TraceEvent::RunEnd { outcome: crate::trace::RunOutcome::Finished, instructions: 20, gas: 0 });
        let t = r.tree();
        type Row<'a> = (&'a str, Option<u32>, u64, u64, u64, u64);
        let summary: Vec<Row<'_>> = t
            .nodes
            .iter()
            .map(|n| (t.name(n.func), n.parent, n.calls, n.self_instructions, n.native_instructions, n.self_ns))
            .collect();
        assert_eq!(
            summary,
            [
                ("<main>", None, 1, 3 + 2 + 3, 0, 10 + 10 + 10),
                ("f", Some(0), 1, 2 + 1, 0, 10 + 10),
                ("g", Some(1), 1, 7, 4, 10),
                ("g", Some(0), 1, 2, 0, 10),
            ]
        );
        assert_eq!(t.nodes[2].native_ns, 3);
        assert_eq!(t.nodes.iter().map(|n| n.self_instructions).sum::<u64>(), 20);
    }

    #[test]
    fn a_full_tree_charges_new_stacks_to_their_caller() {
        let mut r = FlameRecorder::new();
        r.on_event(0, &TraceEvent::RunStart);
        let mut at = 0;
        // Deep recursion of distinct functions: one node per level until the tree is full.
        for i in 0..(MAX_NODES as u32 + 10) {
            at += 1;
            call(&mut r, at, i + 1, "h", at);
        }
        assert_eq!(r.tree().nodes.len(), MAX_NODES);
        assert_eq!(r.tree().folded_calls, 11);
        for _ in 0..(MAX_NODES + 10) {
            at += 1;
            ret(&mut r, at, at);
        }
        assert_eq!(r.stack, [0], "returns stay balanced");
    }
}
