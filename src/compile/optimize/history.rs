//! The optimizer replayed pass by pass, with the origin of every instruction tracked: for the
//! debugger's pass-by-pass view (the code before and after each pass) and for mapping the
//! unoptimized listing onto the optimized one (execution counts, highlighted counterparts).
//!
//! Passes only copy spans around (a folded constant takes its operator's span, a
//! superinstruction its main part's span and keeps every part's span in `part_spans`), and
//! `compact` keeps the span of every surviving instruction. So the replay runs the passes on a
//! copy whose spans are replaced by tags (`start` = the unoptimized pc), and reads each
//! instruction's origin back from its span and part spans. The tagged run is checked against
//! the real optimizer's output: if the code differs, the history says so and maps nothing.

use super::{Pass, optimize};
use crate::bytecode::chunk::Chunk;
use crate::syntax::span::Span;

/// One function's code after one stage of the optimizer.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// The pass that produced this stage (`None` for the unoptimized code).
    pub pass: Option<Pass>,
    /// The code, with its real spans.
    pub chunk: Chunk,
    /// For each instruction, the unoptimized pcs it stands for: the instruction it came from,
    /// then the other parts fused into it. Empty only if the origin could not be traced.
    pub origins: Vec<Vec<u32>>,
}

/// One function through every stage.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionHistory {
    /// Stage 0 is the unoptimized code; stage `i` is the code after the `i`-th pass.
    pub stages: Vec<Stage>,
    /// True if the last stage's code equals the optimized code the program runs, so the
    /// origins describe the running code.
    pub matches_build: bool,
}

impl FunctionHistory {
    /// For each unoptimized pc: the pc of the final instruction it became or was fused into
    /// (`None` if it was removed or folded away, or if the history does not match the build).
    pub fn final_pc_of_unoptimized(&self) -> Vec<Option<u32>> {
        let n = self.stages.first().map_or(0, |s| s.chunk.code.len());
        let mut out = vec![None; n];
        if !self.matches_build {
            return out;
        }
        if let Some(last) = self.stages.last() {
            for (pc, origins) in last.origins.iter().enumerate() {
                for &origin in origins {
                    if let Some(slot) = out.get_mut(origin as usize) {
                        *slot = Some(pc as u32);
                    }
                }
            }
        }
        out
    }
}

/// Replays `passes` on `unoptimized` (a chunk tree) one pass at a time; `optimized` is the
/// tree the real optimizer produced. Returns one history per function, in pre-order (the
/// linker's numbering).
pub fn replay(unoptimized: &Chunk, optimized: &Chunk, passes: &[Pass]) -> Vec<FunctionHistory> {
    let mut tagged = unoptimized.clone();
    tag(&mut tagged);
    let mut stages_by_fn: Vec<Vec<Stage>> = Vec::new();
    let mut originals = Vec::new();
    preorder(unoptimized, &mut originals);
    collect(&tagged, &originals, None, &mut stages_by_fn, &mut 0);
    for &pass in passes {
        optimize(&mut tagged, &[pass]);
        collect(&tagged, &originals, Some(pass), &mut stages_by_fn, &mut 0);
    }
    let mut finals = Vec::new();
    preorder(optimized, &mut finals);
    stages_by_fn
        .into_iter()
        .enumerate()
        .map(|(i, stages)| {
            let matches_build = match (stages.last(), finals.get(i)) {
                (Some(last), Some(real)) => last.chunk.code == real.code,
                _ => false,
            };
            FunctionHistory { stages, matches_build }
        })
        .collect()
}

fn preorder<'a>(chunk: &'a Chunk, out: &mut Vec<&'a Chunk>) {
    out.push(chunk);
    for child in &chunk.children {
        preorder(child, out);
    }
}

/// Replaces every span of the tree by a tag naming the instruction's pc.
fn tag(chunk: &mut Chunk) {
    for (pc, span) in chunk.spans.iter_mut().enumerate() {
        *span = Span { start: pc as u32, end: pc as u32 + 1 };
    }
    chunk.part_spans.clear();
    for child in &mut chunk.children {
        tag(child);
    }
}

/// Appends the current stage of every function of the tagged tree (pre-order from `*next`).
fn collect(tagged: &Chunk, originals: &[&Chunk], pass: Option<Pass>, out: &mut Vec<Vec<Stage>>, next: &mut usize) {
    let id = *next;
    *next += 1;
    let original = originals.get(id).copied();
    let real_span =
        |tag: &Span| -> Span { original.and_then(|o| o.spans.get(tag.start as usize).copied()).unwrap_or_default() };
    let mut chunk = tagged.clone();
    chunk.children.clear();
    // One lookup table, not a scan of `part_spans` per pc (that was quadratic: a 100,000-line
    // program took minutes to open in the TUI, issue 13 M8).
    let mut parts_at: std::collections::HashMap<usize, &[Span]> = std::collections::HashMap::new();
    for (at, parts) in &tagged.part_spans {
        parts_at.entry(*at as usize).or_insert(parts.as_slice());
    }
    let origins: Vec<Vec<u32>> = (0..tagged.code.len())
        .map(|pc| {
            let parts = parts_at.get(&pc).copied();
            let main = tagged.spans.get(pc).map(|s| s.start);
            let mut list: Vec<u32> = main.into_iter().collect();
            for part in parts.unwrap_or(&[]) {
                if !list.contains(&part.start) {
                    list.push(part.start);
                }
            }
            list
        })
        .collect();
    chunk.spans = tagged.spans.iter().map(real_span).collect();
    chunk.part_spans =
        tagged.part_spans.iter().map(|(pc, parts)| (*pc, parts.iter().map(real_span).collect())).collect();
    // Children keep their real spans too (a stage's listing names nested functions).
    if let Some(o) = original {
        chunk.children = o.children.iter().map(|c| Chunk { code: Vec::new(), ..c.clone() }).collect();
    }
    if out.len() <= id {
        out.resize_with(id + 1, Vec::new);
    }
    if let Some(stages) = out.get_mut(id) {
        stages.push(Stage { pass, chunk, origins });
    }
    for child in &tagged.children {
        collect(child, originals, pass, out, next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::optimize::passes_for_level;

    fn chunks(src: &str) -> (Chunk, Chunk) {
        let (ast, diags) = crate::syntax::parse(src);
        assert!(diags.is_empty(), "{diags:?}");
        let (unoptimized, diags) = crate::compile::compile_program(&ast, src.len());
        assert!(diags.is_empty(), "{diags:?}");
        let mut optimized = unoptimized.clone();
        optimize(&mut optimized, &passes_for_level(2));
        (unoptimized, optimized)
    }

    #[test]
    fn the_last_stage_is_the_optimized_code() {
        let src = "action f(n) {\n  let s = 0\n  let i = 0\n  while (i < n) { s = s + i; i = i + 1 }\n  return s\n}\nprint(f(2 + 3))\n";
        let (unoptimized, optimized) = chunks(src);
        let history = replay(&unoptimized, &optimized, &passes_for_level(2));
        assert_eq!(history.len(), 2);
        for h in &history {
            assert!(h.matches_build);
            assert_eq!(h.stages.len(), 4);
            assert_eq!(h.stages[0].pass, None);
            assert_eq!(h.stages[3].pass, Some(Pass::Peephole));
            for stage in &h.stages {
                assert_eq!(stage.origins.len(), stage.chunk.code.len());
                assert_eq!(stage.chunk.spans.len(), stage.chunk.code.len());
            }
        }
        assert_eq!(history[0].stages[3].chunk.code, optimized.code);
        // Unoptimized code maps to itself.
        let first = &history[1].stages[0];
        assert!(first.origins.iter().enumerate().all(|(pc, o)| o == &vec![pc as u32]));
        // Every surviving unoptimized instruction maps to a final pc holding its span.
        let map = history[1].final_pc_of_unoptimized();
        let last = &history[1].stages[3].chunk;
        let fused = map.iter().flatten().count();
        assert!(fused > 0 && fused < map.len(), "{map:?}");
        for (u, f) in map.iter().enumerate() {
            if let Some(f) = f {
                let span = history[1].stages[0].chunk.spans[u];
                let holds = last.spans[*f as usize] == span
                    || last.part_spans.iter().any(|(pc, parts)| *pc == *f && parts.contains(&span));
                assert!(holds, "unoptimized {u} -> {f}");
            }
        }
    }

    #[test]
    fn a_different_build_maps_nothing() {
        let (unoptimized, _) = chunks("let x = 1 + 2\nprint(x)\n");
        let history = replay(&unoptimized, &unoptimized, &passes_for_level(2));
        assert!(!history[0].matches_build);
        assert!(history[0].final_pc_of_unoptimized().iter().all(Option::is_none));
    }
}
