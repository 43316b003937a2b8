//! The flame graph's view model and the session's export formats built from it.
//!
//! [`FlameView`] is plain data made from the profiler's call tree (`trace::flame`): the
//! nodes of the tree with inclusive figures (what the flame graph draws, a node's width its
//! share of its parent's instructions) and the function table (per function: calls, self
//! and total instructions and time, and how much of it ran as native code), sortable by any
//! column. The TUI's flame view, `snapshot --json` (`flame`) and `zexus-tui flame` all show it.
//!
//! The exports are written to bytes here (the engine does no file I/O): collapsed stacks
//! (`main;f;g 120`, one line per stack with its own instructions, as flamegraph.pl and
//! inferno read them) and a speedscope file of two sampled profiles (instructions and
//! nanoseconds, each stack weighted by its own figure).

use serde::Serialize;

use crate::trace::flame::FlameTree;

/// Most nodes a view carries (the widest first; a node is kept only with its parent).
pub const MAX_VIEW_NODES: usize = 4096;

/// One stack of the flame graph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FlameNode {
    /// Function id (`ProgramInfo::functions`).
    pub func: u32,
    /// Display name.
    pub name: String,
    /// Index of the caller's node in [`FlameView::nodes`] (`None` for `<main>`).
    pub parent: Option<u32>,
    /// Call depth (`<main>` is 0).
    pub depth: u32,
    /// Times this stack was entered.
    pub calls: u64,
    /// Instructions with this stack on top.
    pub self_instructions: u64,
    /// Instructions of this stack and everything it called.
    pub total_instructions: u64,
    /// Of `total_instructions`, those run as native code.
    pub native_instructions: u64,
    /// Nanoseconds with this stack on top.
    pub self_ns: u64,
    /// Nanoseconds of this stack and everything it called.
    pub total_ns: u64,
    /// Of `total_ns`, nanoseconds in native code.
    pub native_ns: u64,
    /// Child nodes (indices in [`FlameView::nodes`]), widest first.
    pub children: Vec<u32>,
}

/// One row of the function table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FunctionRow {
    /// Function id.
    pub func: u32,
    /// Display name.
    pub name: String,
    /// Times it was entered.
    pub calls: u64,
    /// Its own instructions (callees excluded), over every stack.
    pub self_instructions: u64,
    /// Instructions of its outermost activations and everything they called (a recursive
    /// function's inner activations are not counted twice).
    pub total_instructions: u64,
    /// Of its own instructions, those run as native code.
    pub native_instructions: u64,
    /// Its own nanoseconds.
    pub self_ns: u64,
    /// Nanoseconds of its outermost activations, callees included.
    pub total_ns: u64,
    /// Of its own nanoseconds, those in native code.
    pub native_ns: u64,
}

impl FunctionRow {
    /// Per mille of its own instructions that ran as native code.
    pub fn native_permille(&self) -> u64 {
        (self.native_instructions * 1000).checked_div(self.self_instructions).unwrap_or(0)
    }
}

/// A column of the function table to sort by (largest first; the name A to Z).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Instructions including callees.
    #[default]
    Total,
    /// Own instructions.
    SelfInstructions,
    /// Calls.
    Calls,
    /// Native share of the own instructions.
    Native,
    /// Own time.
    SelfTime,
    /// Name.
    Name,
}

impl SortKey {
    /// Every key, in the order the TUI cycles through them.
    pub const ALL: [SortKey; 6] =
        [SortKey::Total, SortKey::SelfInstructions, SortKey::Calls, SortKey::Native, SortKey::SelfTime, SortKey::Name];

    /// The name used by `--sort` and shown in the table's title.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::Total => "total",
            SortKey::SelfInstructions => "self",
            SortKey::Calls => "calls",
            SortKey::Native => "native",
            SortKey::SelfTime => "time",
            SortKey::Name => "name",
        }
    }

    /// The key named `name`.
    pub fn from_name(name: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The next key (the TUI's sort key cycles).
    pub fn next(self) -> SortKey {
        let at = SortKey::ALL.iter().position(|&k| k == self).unwrap_or(0);
        SortKey::ALL[(at + 1) % SortKey::ALL.len()]
    }
}

/// The flame graph and function table of the run so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FlameView {
    /// Stacks, `<main>` first (empty before the run starts); a parent comes before its
    /// children.
    pub nodes: Vec<FlameNode>,
    /// Every function entered, sorted by total instructions (largest first).
    pub functions: Vec<FunctionRow>,
    /// Instructions of the whole run so far (the root's total).
    pub total_instructions: u64,
    /// Nanoseconds of the whole run so far.
    pub total_ns: u64,
    /// Instructions run as native code.
    pub native_instructions: u64,
    /// Distinct stacks in the profiler's tree (more than `nodes` holds when narrow ones were
    /// left out of the view).
    pub stacks: usize,
    /// Calls charged to their caller because the profiler's tree was full.
    pub folded_calls: u64,
}

/// Inclusive figures of every node of `tree`: (instructions, native instructions, ns,
/// native ns), computed children first (a child's index is greater than its parent's).
fn inclusive(tree: &FlameTree) -> Vec<[u64; 4]> {
    let mut out: Vec<[u64; 4]> =
        tree.nodes.iter().map(|n| [n.self_instructions, n.native_instructions, n.self_ns, n.native_ns]).collect();
    for i in (1..tree.nodes.len()).rev() {
        if let Some(p) = tree.nodes[i].parent {
            let child = out[i];
            let parent = &mut out[p as usize];
            for k in 0..4 {
                parent[k] = parent[k].saturating_add(child[k]);
            }
        }
    }
    out
}

impl FlameView {
    /// The view of `tree`.
    pub fn from_tree(tree: &FlameTree) -> FlameView {
        let inc = inclusive(tree);
        let mut view = FlameView {
            stacks: tree.nodes.len(),
            folded_calls: tree.folded_calls,
            total_instructions: inc.first().map_or(0, |r| r[0]),
            native_instructions: inc.first().map_or(0, |r| r[1]),
            total_ns: inc.first().map_or(0, |r| r[2]),
            ..FlameView::default()
        };
        view.functions = function_rows(tree, &inc);
        if tree.nodes.is_empty() {
            return view;
        }
        // Breadth first from the root, widest children first, until the view is full.
        let mut queue = std::collections::VecDeque::from([(0usize, None, 0u32)]);
        while let Some((idx, parent, depth)) = queue.pop_front() {
            if view.nodes.len() >= MAX_VIEW_NODES {
                break;
            }
            let n = &tree.nodes[idx];
            let at = view.nodes.len() as u32;
            view.nodes.push(FlameNode {
                func: n.func,
                name: tree.name(n.func).to_string(),
                parent,
                depth,
                calls: n.calls,
                self_instructions: n.self_instructions,
                total_instructions: inc[idx][0],
                native_instructions: inc[idx][1],
                self_ns: n.self_ns,
                total_ns: inc[idx][2],
                native_ns: inc[idx][3],
                children: Vec::new(),
            });
            if let Some(p) = parent {
                view.nodes[p as usize].children.push(at);
            }
            let mut kids: Vec<usize> = n.children.iter().map(|&c| c as usize).collect();
            kids.sort_by_key(|&c| std::cmp::Reverse((inc[c][0], inc[c][2])));
            queue.extend(kids.into_iter().map(|c| (c, Some(at), depth + 1)));
        }
        view
    }

    /// The function table sorted by `key`.
    pub fn sorted_functions(&self, key: SortKey) -> Vec<FunctionRow> {
        let mut rows = self.functions.clone();
        sort_rows(&mut rows, key);
        rows
    }

    /// The path of node `idx` from the root, as names (`<main>`, `f`, `g`).
    pub fn path(&self, idx: usize) -> Vec<&str> {
        let mut out = Vec::new();
        let mut at = Some(idx);
        while let Some(i) = at {
            let Some(n) = self.nodes.get(i) else { break };
            out.push(n.name.as_str());
            at = n.parent.map(|p| p as usize);
        }
        out.reverse();
        out
    }
}

fn sort_rows(rows: &mut [FunctionRow], key: SortKey) {
    use std::cmp::Reverse;
    match key {
        SortKey::Total => rows.sort_by_key(|r| (Reverse(r.total_instructions), Reverse(r.calls), r.func)),
        SortKey::SelfInstructions => rows.sort_by_key(|r| (Reverse(r.self_instructions), r.func)),
        SortKey::Calls => rows.sort_by_key(|r| (Reverse(r.calls), r.func)),
        SortKey::Native => {
            rows.sort_by_key(|r| (Reverse(r.native_permille()), Reverse(r.native_instructions), r.func));
        }
        SortKey::SelfTime => rows.sort_by_key(|r| (Reverse(r.self_ns), r.func)),
        SortKey::Name => rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.func.cmp(&b.func))),
    }
}

/// For each node of `tree`, whether its function is already on the stack above it (an inner
/// activation of a recursion), in one walk of the tree (a deep recursion is one long chain).
fn nested_nodes(tree: &FlameTree) -> Vec<bool> {
    let mut nested = vec![false; tree.nodes.len()];
    let mut open: Vec<u32> = Vec::new();
    // (node, whether its children were pushed): depth first, counting open activations per
    // function.
    let mut walk = vec![(0usize, false)];
    while let Some((idx, done)) = walk.pop() {
        let Some(n) = tree.nodes.get(idx) else { continue };
        let f = n.func as usize;
        if open.len() <= f {
            open.resize(f + 1, 0);
        }
        if done {
            open[f] -= 1;
            continue;
        }
        nested[idx] = open[f] > 0;
        open[f] += 1;
        walk.push((idx, true));
        walk.extend(n.children.iter().map(|&c| (c as usize, false)));
    }
    nested
}

fn function_rows(tree: &FlameTree, inc: &[[u64; 4]]) -> Vec<FunctionRow> {
    let nested = nested_nodes(tree);
    let mut rows: Vec<Option<FunctionRow>> = Vec::new();
    for (i, n) in tree.nodes.iter().enumerate() {
        let idx = n.func as usize;
        if rows.len() <= idx {
            rows.resize(idx + 1, None);
        }
        let row = rows[idx].get_or_insert_with(|| FunctionRow {
            func: n.func,
            name: tree.name(n.func).to_string(),
            ..FunctionRow::default()
        });
        row.calls += n.calls;
        row.self_instructions += n.self_instructions;
        row.native_instructions += n.native_instructions;
        row.self_ns += n.self_ns;
        row.native_ns += n.native_ns;
        // Only outermost activations count toward the total.
        if !nested[i] {
            row.total_instructions += inc[i][0];
            row.total_ns += inc[i][2];
        }
    }
    let mut rows: Vec<FunctionRow> = rows.into_iter().flatten().collect();
    sort_rows(&mut rows, SortKey::Total);
    rows
}

/// A frame name as collapsed stacks may hold it (no `;` or line break).
fn stack_frame(name: &str) -> String {
    name.chars().map(|c| if c == ';' || c.is_control() { '_' } else { c }).collect()
}

/// The collapsed-stacks form of `tree`: one line `main;f;g N` per stack whose own
/// instructions `N` are not zero, in tree order.
pub fn collapsed_stacks(tree: &FlameTree) -> String {
    let mut out = String::new();
    let mut paths: Vec<String> = Vec::with_capacity(tree.nodes.len());
    for n in &tree.nodes {
        let frame = stack_frame(tree.name(n.func));
        let path = match n.parent.and_then(|p| paths.get(p as usize)) {
            Some(parent) => format!("{parent};{frame}"),
            None => frame,
        };
        if n.self_instructions > 0 {
            out.push_str(&format!("{path} {}\n", n.self_instructions));
        }
        paths.push(path);
    }
    out
}

#[derive(Serialize)]
struct SpeedscopeFrame {
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SampledProfile {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    unit: &'static str,
    start_value: u64,
    end_value: u64,
    samples: Vec<Vec<u32>>,
    weights: Vec<u64>,
}

/// A speedscope file of `tree` (named `name`): a sampled profile per unit, instructions
/// (`none`) and nanoseconds, each stack one sample weighted by its own figure.
pub fn speedscope_json(tree: &FlameTree, name: &str) -> String {
    let mut frame_of: Vec<Option<u32>> = Vec::new();
    let mut frames = Vec::new();
    let mut stacks: Vec<Vec<u32>> = Vec::with_capacity(tree.nodes.len());
    for n in &tree.nodes {
        let idx = n.func as usize;
        if frame_of.len() <= idx {
            frame_of.resize(idx + 1, None);
        }
        let frame = *frame_of[idx].get_or_insert_with(|| {
            frames.push(SpeedscopeFrame { name: tree.name(n.func).to_string() });
            frames.len() as u32 - 1
        });
        let mut stack = n.parent.and_then(|p| stacks.get(p as usize)).cloned().unwrap_or_default();
        stack.push(frame);
        stacks.push(stack);
    }
    let profile = |unit: &'static str, label: &str, weight: &dyn Fn(usize) -> u64| {
        let (mut samples, mut weights) = (Vec::new(), Vec::new());
        for (i, stack) in stacks.iter().enumerate() {
            let w = weight(i);
            if w > 0 {
                samples.push(stack.clone());
                weights.push(w);
            }
        }
        let end = weights.iter().sum();
        SampledProfile {
            kind: "sampled",
            name: format!("{name} ({label})"),
            unit,
            start_value: 0,
            end_value: end,
            samples,
            weights,
        }
    };
    let doc = serde_json::json!({
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": { "frames": frames },
        "profiles": [
            profile("none", "instructions", &|i| tree.nodes[i].self_instructions),
            profile("nanoseconds", "time", &|i| tree.nodes[i].self_ns),
        ],
        "name": name,
        "activeProfileIndex": 0,
        "exporter": concat!("zexus-tui ", env!("CARGO_PKG_VERSION")),
    });
    serde_json::to_string(&doc).unwrap_or_default() + "\n"
}

/// One file of an export: its name in the export directory, what it is, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// File name (no directory).
    pub name: &'static str,
    /// What it holds, for menus and reports.
    pub what: &'static str,
    /// The contents.
    pub bytes: Vec<u8>,
}

/// Every format of an export, in menu order: (file name, what it is).
pub const EXPORT_FORMATS: [(&str, &str); 5] = [
    ("trace.json", "Chrome trace (Perfetto, chrome://tracing)"),
    ("profile.speedscope.json", "speedscope (speedscope.app)"),
    ("stacks.collapsed", "collapsed stacks (flamegraph.pl, inferno)"),
    ("stats.json", "statistics (as stats --json)"),
    ("profile.json", "profile (as profile --json)"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Listener;
    use crate::trace::TraceEvent;
    use crate::trace::event::ArgList;
    use crate::trace::flame::FlameRecorder;

    /// main calls f twice; f calls itself once the first time.
    fn sample() -> FlameTree {
        let mut r = FlameRecorder::new();
        let call = |r: &mut FlameRecorder, at: u64, func: u32, name: &str, instructions: u64| {
            r.on_event(at, &TraceEvent::Call { func, name, depth: 0, gas: 0, instructions, args: ArgList::EMPTY });
        };
        let ret = |r: &mut FlameRecorder, at: u64, instructions: u64| {
            r.on_event(at, &TraceEvent::Return { func: 0, name: "", depth: 0, gas: 0, instructions });
        };
        r.on_event(0, &TraceEvent::RunStart);
        call(&mut r, 1, 1, "f", 1);
        call(&mut r, 2, 1, "f", 4);
        ret(&mut r, 3, 10);
        ret(&mut r, 4, 12);
        call(&mut r, 5, 1, "f", 13);
        r.on_event(6, &TraceEvent::NativeRun { func: 1, loop_id: 0, instructions: 5, ns: 1 });
        ret(&mut r, 7, 20);
        r.on_event(8, &TraceEvent::RunEnd { outcome: crate::trace::RunOutcome::Finished, instructions: 21, gas: 0 });
        r.tree().clone()
    }

    #[test]
    fn the_view_has_inclusive_figures_and_an_outermost_total() {
        let view = FlameView::from_tree(&sample());
        let nodes: Vec<(Vec<&str>, u64, u64, u64)> = (0..view.nodes.len())
            .map(|i| {
                let n = &view.nodes[i];
                (view.path(i), n.calls, n.self_instructions, n.total_instructions)
            })
            .collect();
        assert_eq!(
            nodes,
            [(vec!["<main>"], 1, 3, 21), (vec!["<main>", "f"], 2, 3 + 2 + 7, 18), (vec!["<main>", "f", "f"], 1, 6, 6)]
        );
        let f = view.functions.iter().find(|r| r.name == "f").cloned().unwrap_or_default();
        assert_eq!((f.calls, f.self_instructions, f.total_instructions, f.native_instructions), (3, 18, 18, 5));
        assert_eq!(f.native_permille(), 277);
        assert_eq!((view.total_instructions, view.native_instructions), (21, 5));
        let by_name: Vec<String> = view.sorted_functions(SortKey::Name).into_iter().map(|r| r.name).collect();
        assert_eq!(by_name, ["<main>", "f"]);
        let by_self: Vec<String> =
            view.sorted_functions(SortKey::SelfInstructions).into_iter().map(|r| r.name).collect();
        assert_eq!(by_self, ["f", "<main>"]);
        assert_eq!(SortKey::Name.next(), SortKey::Total);
    }

    #[test]
    fn exports_carry_every_instruction() {
        let tree = sample();
        let text = collapsed_stacks(&tree);
        assert_eq!(text, "<main> 3\n<main>;f 12\n<main>;f;f 6\n");
        let doc: serde_json::Value = serde_json::from_str(&speedscope_json(&tree, "t.zx")).expect("JSON");
        let weights: u64 =
            doc["profiles"][0]["weights"].as_array().map_or(0, |w| w.iter().filter_map(|x| x.as_u64()).sum());
        assert_eq!(weights, 21);
        assert_eq!(doc["profiles"][0]["samples"][2], serde_json::json!([0, 1, 1]));
    }
}
