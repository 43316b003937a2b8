//! Targets fed with files a user (or a damaged disk) hands the tool: bytecode for the
//! verifier, cache files, theme files and state files.

use std::hash::Hasher;
use std::io::Write;

use proptest::prelude::*;
use serde_json::Value as Json;
use siphasher::sip128::{Hasher128, SipHasher13};
use zexus_tui::bytecode::chunk::{Capture, Chunk, Const, LoopInfo};
use zexus_tui::bytecode::op::Op;
use zexus_tui::bytecode::verify::verify;
use zexus_tui::compile::cache::format::{self, FORMAT_VERSION};
use zexus_tui::compile::cache::{UnitKey, UnitKind};
use zexus_tui::engine::cache::CompileCache;
use zexus_tui::engine::pipeline;
use zexus_tui::tui::theme::{FIELDS, Theme};
use zexus_tui::vm::chain;
use zexus_tui::vm::interp::{Halt, Vm, VmConfig};

use crate::harness::count;
use crate::mutate::{apply_bytes, apply_fields, byte_edits, field_edits, json_text};
use crate::seeds::{self, MemStore, options};

/// Discards output.
struct Sink;

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Links and runs a chunk the verifier accepted, with a step limit, in slices.
fn run_chunk(chunk: &Chunk) {
    let program = std::rc::Rc::new(zexus_tui::vm::program::link(chunk));
    let config = VmConfig { max_steps: Some(5_000), max_alloc: 1 << 20, max_depth: 200, ..VmConfig::default() };
    let mut vm = Vm::new(program, config, Box::new(Sink));
    for _ in 0..10_000 {
        if !matches!(vm.run(97), Halt::Budget) {
            break;
        }
    }
    vm.flush();
}

// ---------------------------------------------------------------------------------------------
// Verifier
// ---------------------------------------------------------------------------------------------

/// `verifier`: any bytes either fail to decode as a chunk, or the verifier rejects them, or
/// they run (with a step limit) without a panic: code that passes the verifier cannot crash
/// the VM, whatever it computes.
pub fn check_verifier(input: &[u8]) -> Result<(), String> {
    let Some(chunk) = seeds::decode_chunk(input) else { return Ok(()) };
    for external in [Some(0), Some(1), Some(3)] {
        let _ = verify(&chunk, external);
    }
    count("decoded");
    if verify(&chunk, None).is_ok() {
        count("verified and ran");
        run_chunk(&chunk);
    }
    Ok(())
}

/// One structural edit of a chunk tree: kind, which chunk, and two numbers.
type ChunkEdit = (u8, u32, u32, u32);

fn chunk_at(root: &mut Chunk, pick: u32) -> &mut Chunk {
    // Walks down the tree: each step takes a child chosen by the next bits of `pick`.
    let mut node = root;
    let mut bits = pick;
    while !node.children.is_empty() && !bits.is_multiple_of(3) {
        let i = (bits as usize / 3) % node.children.len();
        bits /= 7;
        node = &mut node.children[i];
    }
    node
}

fn random_op(a: u32, b: u32) -> Option<Op> {
    let mut bytes = vec![(a % 90) as u8];
    bytes.extend_from_slice(&b.to_le_bytes());
    bytes.extend_from_slice(&a.to_le_bytes());
    postcard::take_from_bytes::<Op>(&bytes).ok().map(|(op, _)| op)
}

fn apply_chunk_edits(root: &mut Chunk, edits: &[ChunkEdit]) {
    for &(kind, pick, a, b) in edits {
        let c = chunk_at(root, pick);
        let len = c.code.len();
        let at = if len == 0 { 0 } else { a as usize % len };
        match kind {
            0..=2 if len > 0 => {
                if let Some(op) = random_op(a, b) {
                    c.code[at] = op;
                }
            }
            3 if len > 0 => {
                // An operand nudged: the op re-encoded with one byte changed.
                if let Ok(mut bytes) = postcard::to_stdvec(&c.code[at]) {
                    let i = (1 + b as usize % bytes.len().max(1)).min(bytes.len().saturating_sub(1));
                    if let Some(byte) = bytes.get_mut(i) {
                        *byte = byte.wrapping_add((b >> 8) as u8 | 1);
                    }
                    if let Ok((op, _)) = postcard::take_from_bytes::<Op>(&bytes) {
                        c.code[at] = op;
                    }
                }
            }
            4 if len > 1 => c.code.swap(at, b as usize % len),
            5 if len > 0 => {
                c.code.remove(at);
                if at < c.spans.len() && b % 2 == 0 {
                    c.spans.remove(at);
                }
            }
            6 if len > 0 => {
                let op = c.code[b as usize % len];
                c.code.insert(at, op);
                if let Some(&span) = c.spans.get(at) {
                    c.spans.insert(at, span);
                }
            }
            7 => {
                c.n_slots =
                    [0, 1, c.n_slots.saturating_sub(1), c.n_slots.saturating_add(1), 1 << 16, u32::MAX][b as usize % 6]
            }
            8 => c.arity = (b % 5) as u16,
            9 => match b % 4 {
                0 => {
                    c.consts.pop();
                }
                1 => c.consts.push(Const::Int(i64::from(a as i32))),
                2 => c.consts.push(Const::Float(f64::from_bits(u64::from(a) << 32 | u64::from(b)))),
                _ => c.consts.push(Const::Str("x".repeat(a as usize % 5))),
            },
            10 => {
                if b % 2 == 0 {
                    c.children.pop();
                } else if let Some(child) = c.children.first().cloned() {
                    c.children.push(child);
                }
            }
            11 => match b % 3 {
                0 => c.captures.push(Capture::Cell((a % 8) as u16)),
                1 => c.captures.push(Capture::Free((a % 4) as u16)),
                _ => {
                    c.captures.pop();
                }
            },
            12 => {
                if b % 2 == 0 {
                    c.cell_slots.push((a % 8) as u16);
                } else {
                    c.cell_slots.pop();
                }
            }
            13 => match b % 3 {
                0 => {
                    c.loops.pop();
                }
                1 => c.loops.push(LoopInfo { header: a % 64, back_edge: b % 64, exit: (a ^ b) % 64 }),
                _ => {
                    if let Some(l) = c.loops.first_mut() {
                        l.header = a % (len as u32 + 2);
                    }
                }
            },
            14 => c.is_top = !c.is_top,
            15 => {
                if b % 2 == 0 {
                    c.globals.pop();
                } else {
                    c.globals.push(format!("g{}", a % 4));
                }
            }
            16 => {
                // Keep the side tables in step with the code, so edits get past those checks.
                c.spans.resize(len, Default::default());
                c.slot_names.resize(c.n_slots.min(1 << 16) as usize, "v".to_string());
                c.free_names.resize(c.captures.len(), "f".to_string());
            }
            _ => c.code.truncate(at),
        }
    }
}

/// Valid bytecode with structural edits (ops replaced, operands nudged, tables resized).
fn mutated_chunk() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds::bytecode();
    let n = seeds.len().max(1);
    (0..n, proptest::collection::vec((0u8..18, any::<u32>(), any::<u32>(), any::<u32>()), 1..6), any::<bool>())
        .prop_map(move |(i, mut edits, tidy)| {
            let Some(mut chunk) = seeds.get(i).and_then(|b| seeds::decode_chunk(b)) else { return Vec::new() };
            if tidy {
                // Finish with a tidy-up of the edited chunk, so more cases reach the deep checks.
                if let Some(&(_, pick, _, _)) = edits.last() {
                    edits.push((16, pick, 0, 0));
                }
            }
            apply_chunk_edits(&mut chunk, &edits);
            postcard::to_stdvec(&chunk).unwrap_or_default()
        })
}

/// Valid bytecode with byte-level damage to its encoding.
fn damaged_chunk_bytes() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds::bytecode();
    let n = seeds.len().max(1);
    (0..n, byte_edits(6)).prop_map(move |(i, edits)| {
        let mut bytes = seeds.get(i).cloned().unwrap_or_default();
        apply_bytes(&mut bytes, &edits);
        bytes
    })
}

/// The verifier's inputs.
pub fn verifier_inputs() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => proptest::collection::vec(any::<u8>(), 0..600),
        5 => mutated_chunk(),
        3 => damaged_chunk_bytes(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Cache loader
// ---------------------------------------------------------------------------------------------

const HEADER_LEN: usize = 52;

/// Recomputes a cache file's length field and checksum over its (damaged) payload, as a
/// hostile writer would, so the damage reaches the payload decoder.
pub fn reseal(file: &mut [u8]) {
    if file.len() < HEADER_LEN {
        return;
    }
    let payload_len = (file.len() - HEADER_LEN) as u64;
    let mut h = SipHasher13::new_with_keys(0x5a58_4243_4143_4845, u64::from(FORMAT_VERSION));
    h.write(&file[HEADER_LEN..]);
    let sum = h.finish128().as_bytes();
    file[28..36].copy_from_slice(&payload_len.to_le_bytes());
    file[36..52].copy_from_slice(&sum);
}

/// `cache_loader`: a cache file is rejected or accepted, never a panic; a bare file is decoded
/// (under the key in its header) and verified as the engine does; a file paired with a
/// program is served for every unit of that program, and whatever the engine accepts runs
/// (with a step limit) without a panic.
pub fn check_cache_loader(input: &[u8]) -> Result<(), String> {
    let Some((src, file)) = seeds::split_cache_input(input) else {
        let key = input.get(12..28).and_then(|k| k.try_into().ok()).map_or(0, u128::from_le_bytes);
        if let Ok(unit) = format::decode(UnitKey(key), input) {
            count("bare file decoded");
            let external = (unit.kind == UnitKind::Top).then_some(2);
            if verify(&unit.optimized, external).is_ok() && verify(&unit.unoptimized, external).is_ok() {
                let _ = unit.resolve(&[]);
                let _ = unit.approx_bytes();
            }
        }
        return Ok(());
    };
    let store = MemStore { forced: Some(file.to_vec()), ..MemStore::default() };
    let mut cache = CompileCache::default().with_store(Box::new(store));
    let opts = options(2, 20_000);
    let Ok((build, _)) = pipeline::build_with_cache(&src, &opts, &mut cache) else { return Ok(()) };
    let stats = cache.stats();
    if stats.disk_hits > 0 {
        count("file used");
    }
    if stats.disk_errors > 0 {
        count("file rejected");
    }
    let mut vm = Vm::new(build.program.clone(), opts.vm.clone(), Box::new(Sink));
    for _ in 0..10_000 {
        if !matches!(vm.run(97), Halt::Budget) {
            break;
        }
    }
    // An intact file is a hit for its own unit.
    if cache.stats().disk_hits == 0 && file_is_intact(&src, file) {
        return Err("an intact cache file was not used".to_string());
    }
    Ok(())
}

fn file_is_intact(src: &str, file: &[u8]) -> bool {
    seeds::cache_files(src).iter().any(|f| f == file)
}

/// The cache loader's inputs.
pub fn cache_inputs() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds::cache_inputs();
    let n = seeds.len().max(1);
    let for_damage = seeds.clone();
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..300),
        1 => (proptest::collection::vec(any::<u8>(), 0..300), any::<u128>()).prop_map(|(payload, key)| {
            // A well-formed envelope around arbitrary payload bytes.
            let mut file = format::MAGIC.to_vec();
            file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
            file.extend_from_slice(&key.to_le_bytes());
            file.extend_from_slice(&[0; 24]);
            file.extend_from_slice(&payload);
            reseal(&mut file);
            file
        }),
        6 => (0..n, byte_edits(6), any::<bool>()).prop_map(move |(i, edits, sealed)| {
            let seed = for_damage.get(i).cloned().unwrap_or_default();
            let Some((src, file)) = seeds::split_cache_input(&seed) else { return seed };
            let mut file = file.to_vec();
            let mut payload_edits = edits.clone();
            if sealed {
                // Damage only the payload, then reseal: the decoder itself must cope.
                for e in &mut payload_edits {
                    e.1 = (HEADER_LEN as u32).saturating_add(e.1 % (file.len().saturating_sub(HEADER_LEN).max(1) as u32));
                }
            }
            apply_bytes(&mut file, &payload_edits);
            if sealed {
                reseal(&mut file);
            }
            seeds::cache_input(&src, &file)
        }),
        1 => (0..n).prop_map(move |i| seeds.get(i).cloned().unwrap_or_default()),
    ]
}

// ---------------------------------------------------------------------------------------------
// Theme loader
// ---------------------------------------------------------------------------------------------

/// `theme_loader`: any text loads or gives an error; a JSON object's error names one of its
/// fields (the one that is wrong), and a theme that loads has only known fields.
pub fn check_theme_loader(input: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    let res = Theme::from_json(&text, "fuzz.json");
    count(if res.is_ok() { "loaded" } else { "rejected" });
    let Ok(Json::Object(obj)) = serde_json::from_str::<Json>(&text) else { return Ok(()) };
    match res {
        Ok(_) => {
            let known = |k: &str| k == "name" || k == "base" || FIELDS.contains(&k);
            if let Some(k) = obj.keys().find(|k| !known(k)) {
                return Err(format!("a theme with the unknown field {k:?} loaded"));
            }
        }
        Err(e) => {
            let message = e.to_string();
            if !obj.keys().any(|k| message.contains(&format!("`{k}`"))) {
                return Err(format!("the error does not name the field at fault: {message}"));
            }
        }
    }
    Ok(())
}

/// The theme loader's inputs.
pub fn theme_inputs() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds::themes();
    let n = seeds.len().max(1);
    let mut fields: Vec<&'static str> = FIELDS.to_vec();
    fields.extend(["name", "base"]);
    prop_oneof![
        1 => json_text(),
        3 => (0..n, field_edits()).prop_map(move |(i, edits)| {
            let seed = seeds.get(i).cloned().unwrap_or_default();
            let Ok(Json::Object(mut obj)) = serde_json::from_str::<Json>(&seed) else { return seed };
            apply_fields(&mut obj, &fields, &edits);
            Json::Object(obj).to_string()
        }),
    ]
    .prop_map(String::into_bytes)
}

// ---------------------------------------------------------------------------------------------
// State loader
// ---------------------------------------------------------------------------------------------

/// `state_loader`: any text loads or gives an error; an object's error names the entry at
/// fault; loaded STATE saves and reloads unchanged, and converts to VM values and back
/// unchanged.
pub fn check_state_loader(input: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    match chain::state_from_json_text(&text) {
        Ok(state) => {
            count("loaded");
            let saved = chain::state_to_json_text(&state).map_err(|e| format!("loaded STATE does not save: {e}"))?;
            let reloaded =
                chain::state_from_json_text(&saved).map_err(|e| format!("saved STATE does not reload: {e}"))?;
            if reloaded != state {
                return Err(format!("STATE changed on a save and reload:\n{saved}"));
            }
            for data in state.values() {
                let value = chain::from_data(data);
                let back =
                    chain::to_data(&value).map_err(|e| format!("a loaded value does not convert back: {e:?}"))?;
                if &back != data {
                    return Err(format!("a loaded value changed on its way through the VM: {data:?}"));
                }
                let mut canon = String::new();
                chain::canon(data, &mut canon);
            }
        }
        Err(message) => {
            count("rejected");
            if let Ok(Json::Object(obj)) = serde_json::from_str::<Json>(&text)
                && !obj.keys().any(|k| message.contains(&format!("entry {k:?}")))
            {
                return Err(format!("the error does not name the entry at fault: {message}"));
            }
        }
    }
    Ok(())
}

/// The state loader's inputs: structured JSON values (entries of every type, extreme numbers,
/// deep nesting), damaged text, and edited seeds.
pub fn state_inputs() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds::states();
    let n = seeds.len().max(1);
    prop_oneof![
        2 => json_text(),
        3 => proptest::collection::vec((crate::mutate::json_string(), crate::mutate::json_value()), 0..6)
            .prop_map(|entries| Json::Object(entries.into_iter().collect()).to_string()),
        2 => (0..n, field_edits()).prop_map(move |(i, edits)| {
            let seed = seeds.get(i).cloned().unwrap_or_default();
            let Ok(Json::Object(mut obj)) = serde_json::from_str::<Json>(&seed) else { return seed };
            apply_fields(&mut obj, &["a", "b", "", "balance"], &edits);
            Json::Object(obj).to_string()
        }),
    ]
    .prop_map(String::into_bytes)
}
