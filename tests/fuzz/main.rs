//! Fuzz targets on stable Rust (proptest-driven, with a time-boxed long-run mode): the front
//! end, the compiler and optimizer, the VM, the optimizer and JIT differentials, the spec's model as an oracle, the bytecode
//! verifier, and the cache, theme and state loaders. Each target first replays its stored
//! corpus and regression inputs (`tests/fuzz/corpus`, `tests/fuzz/regressions`).
//!
//! `ZEXUS_FUZZ_SECONDS=600 cargo test --release --test fuzz -- --nocapture TARGET` runs one
//! target for ten minutes and prints its case count; `tests/fuzz/long_run.sh` runs them all.
//! See `harness.rs` for the other settings.

#[path = "../common/mod.rs"]
mod common;
mod contracts_gen;
mod harness;
mod loader_targets;
mod module_targets;
mod mutate;
mod oracle_target;
mod program_targets;
mod rich;
mod seeds;

use harness::Target;
use loader_targets as loaders;
use program_targets as programs;
use proptest::prelude::*;
use zexus_tui::compile::cache::UnitKey;
use zexus_tui::compile::cache::format::{self, FormatError};

/// Runs a target on a thread with a large stack (the CLI and the TUI run the engine on a
/// 1 GiB stack; 64 MiB leaves room without hiding unbounded recursion).
fn on_big_stack(f: impl FnOnce() + Send + 'static) {
    let handle = std::thread::Builder::new().stack_size(64 << 20).spawn(f).expect("spawn the target's thread");
    if let Err(payload) = handle.join() {
        std::panic::resume_unwind(payload);
    }
}

#[test]
fn front_end() {
    on_big_stack(|| {
        let target = Target {
            name: "front_end",
            default_cases: 2000,
            check: programs::check_front_end,
            corpus: &["programs", "front_end"],
        };
        let strategy = prop_oneof![
            2 => ".{0,400}".prop_map(String::into_bytes),
            1 => proptest::collection::vec(any::<u8>(), 0..400),
            3 => programs::token_soup().prop_map(String::into_bytes),
            2 => programs::damaged_program(),
            2 => programs::mutated_program().prop_map(String::into_bytes),
        ];
        harness::run(&target, strategy);
    });
}

#[test]
fn compiler() {
    on_big_stack(|| {
        let target =
            Target { name: "compiler", default_cases: 300, check: programs::check_compiler, corpus: &["programs"] };
        harness::run(&target, programs::parsed_programs());
    });
}

#[test]
fn vm() {
    on_big_stack(|| {
        let target = Target { name: "vm", default_cases: 500, check: programs::check_vm, corpus: &["programs"] };
        let strategy =
            prop_oneof![3 => rich::program(), 1 => common::programs::program(), 1 => contracts_gen::program()]
                .prop_map(String::into_bytes);
        harness::run(&target, strategy);
    });
}

#[test]
fn optimizer_differential() {
    on_big_stack(|| {
        let target = Target {
            name: "optimizer_differential",
            default_cases: 500,
            check: programs::check_optimizer_differential,
            corpus: &["programs"],
        };
        let strategy = prop_oneof![common::programs::program(), rich::program(), contracts_gen::program()]
            .prop_map(String::into_bytes);
        harness::run(&target, strategy);
    });
}

#[test]
fn jit_differential() {
    on_big_stack(|| {
        let target = Target {
            name: "jit_differential",
            default_cases: 1000,
            check: programs::check_jit_differential,
            corpus: &["jit_differential"],
        };
        harness::run(&target, programs::jit_input());
    });
}

#[test]
fn multi_file() {
    on_big_stack(|| {
        let target = Target {
            name: "multi_file",
            default_cases: 150,
            check: module_targets::check_multi_file,
            corpus: &["multi_file"],
        };
        harness::run(&target, common::module_programs::program().prop_map(String::into_bytes));
    });
}

#[test]
fn model_oracle() {
    assert!(
        oracle_target::model_path().is_file(),
        "the spec's model is missing at {}",
        oracle_target::model_path().display()
    );
    on_big_stack(|| {
        let target = Target {
            name: "model_oracle",
            default_cases: 32,
            check: oracle_target::check_model_oracle,
            // Not the shared seed programs: collections.zx prints a list beside a `pop()` of
            // it, where the model displays each argument as it is evaluated (see
            // ARCHITECTURE.md, language decisions: print evaluates all its arguments first).
            corpus: &[],
        };
        harness::run(&target, oracle_target::oracle_inputs());
    });
}

#[test]
fn verifier() {
    on_big_stack(|| {
        let target =
            Target { name: "verifier", default_cases: 3000, check: loaders::check_verifier, corpus: &["verifier"] };
        harness::run(&target, loaders::verifier_inputs());
    });
}

#[test]
fn cache_loader() {
    on_big_stack(|| {
        let target = Target {
            name: "cache_loader",
            default_cases: 1500,
            check: loaders::check_cache_loader,
            corpus: &["cache_loader"],
        };
        harness::run(&target, loaders::cache_inputs());
    });
}

#[test]
fn theme_loader() {
    on_big_stack(|| {
        let target = Target {
            name: "theme_loader",
            default_cases: 2000,
            check: loaders::check_theme_loader,
            corpus: &["theme_loader"],
        };
        harness::run(&target, loaders::theme_inputs());
    });
}

#[test]
fn state_loader() {
    on_big_stack(|| {
        let target = Target {
            name: "state_loader",
            default_cases: 2000,
            check: loaders::check_state_loader,
            corpus: &["state_loader"],
        };
        harness::run(&target, loaders::state_inputs());
    });
}

/// A chunk nested `depth` levels deep in postcard form, built by hand (the encoder itself
/// would recurse): the encoding of a chunk is its fields before `children`, the children, then
/// its fields after them.
fn nested_chunk_bytes(depth: usize) -> Vec<u8> {
    use zexus_tui::bytecode::chunk::Chunk;
    use zexus_tui::syntax::span::Span;
    let leaf = Chunk::new(None, false, Span::default());
    let mut parent = leaf.clone();
    parent.children.push(leaf.clone());
    let leaf_bytes = postcard::to_stdvec(&leaf).expect("encode");
    let parent_bytes = postcard::to_stdvec(&parent).expect("encode");
    let split = (0..leaf_bytes.len())
        .find(|&i| leaf_bytes[i] == 0 && parent_bytes[i] == 1 && leaf_bytes[..i] == parent_bytes[..i])
        .expect("the children count differs");
    let (prefix, suffix) = (&leaf_bytes[..split], &leaf_bytes[split + 1..]);
    let mut out = Vec::with_capacity(depth * (prefix.len() + suffix.len() + 1) + leaf_bytes.len());
    for _ in 0..depth {
        out.extend_from_slice(prefix);
        out.push(1);
    }
    out.extend_from_slice(&leaf_bytes);
    for _ in 0..depth {
        out.extend_from_slice(suffix);
    }
    out
}

/// A top-level cache file for `key` whose optimized tree is the single flattened chunk
/// `chunk` (postcard bytes) and whose unoptimized tree is empty.
fn cache_file_around(key: UnitKey, chunk: &[u8]) -> Vec<u8> {
    // Payload: kind Top (0), n_spans 0, no constraints, one flat chunk (parent u32::MAX as a
    // varint, then the chunk), no unoptimized chunks, no pass figures, 0 microseconds.
    let mut payload = vec![0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f];
    payload.extend_from_slice(chunk);
    payload.extend_from_slice(&[0, 0, 0]);
    cache_file_with_payload(key, &payload)
}

#[test]
fn deeply_nested_bytecode_is_rejected_without_recursing() {
    // Decoding must stop at the nesting limit instead of overflowing the stack, however deep
    // the input claims to go; the CLI runs on a 1 GiB stack, and a test thread has far less.
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(|| {
            let shallow = nested_chunk_bytes(3);
            assert!(seeds::decode_chunk(&shallow).is_some(), "three levels decode");
            for depth in [1_000, 200_000] {
                assert!(seeds::decode_chunk(&nested_chunk_bytes(depth)).is_none(), "{depth} levels must be rejected");
            }
            // The same tree inside a cache file (sealed with a valid checksum) is rejected too.
            let key = UnitKey(42);
            let shallow = format::decode(key, &cache_file_around(key, &nested_chunk_bytes(3)));
            assert_eq!(shallow, Err(FormatError::Payload("a flattened chunk has children".to_string())));
            let deep = format::decode(key, &cache_file_around(key, &nested_chunk_bytes(200_000)));
            assert!(matches!(deep, Err(FormatError::Payload(_))), "{deep:?}");
        })
        .expect("spawn")
        .join()
        .expect("no stack overflow");
}

/// The program generators produce programs that compile and run for a while (otherwise the
/// program targets would prove nothing).
#[test]
fn generated_programs_compile_and_run() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut compiled, mut finished, mut long) = (0, 0, 0);
    let mut failures = Vec::new();
    let n = 200;
    for _ in 0..n {
        let src = rich::program().new_tree(&mut runner).expect("generate").current();
        let b = common::inproc::behaviour(&src, &seeds::options(2, 100_000));
        if b.end.starts_with("syntax") {
            failures.push(format!("{}\n{src}", b.end));
            continue;
        }
        compiled += 1;
        if std::env::var("ZEXUS_FUZZ_DEBUG").is_ok() {
            eprintln!("END {}", b.end);
        }
        if b.end == "ok" {
            finished += 1;
        }
        if b.output.lines().count() >= 3 {
            long += 1;
        }
    }
    let firsts: Vec<String> = failures.iter().map(|f| f.lines().next().unwrap_or("").to_string()).collect();
    assert!(
        compiled == n,
        "{} of {n} generated programs do not compile: {firsts:#?}\nfirst:\n{}",
        n - compiled,
        failures[0]
    );
    assert!(finished >= n / 5, "only {finished} of {n} generated programs run to the end");
    assert!(long >= n / 3, "only {long} of {n} generated programs print three lines");
}

/// The stored seeds are valid inputs of their kind (a stale seed would only weaken the
/// mutators silently). `ZEXUS_FUZZ_WRITE_CORPUS=1` first rewrites the bytecode and cache
/// seeds from `tests/fuzz/corpus/programs` (after a format change, say).
#[test]
fn stored_seeds_are_valid() {
    use zexus_tui::bytecode::verify::verify;
    let corpus = harness::fuzz_dir().join("corpus");
    if std::env::var("ZEXUS_FUZZ_WRITE_CORPUS").is_ok_and(|v| v == "1") {
        // Stale seeds of an older format (or of a unit that no longer exists) go first.
        for kind in ["verifier", "cache_loader"] {
            for (path, _) in harness::files("corpus", kind) {
                std::fs::remove_file(&path).expect("remove a stale seed");
            }
        }
        for (path, bytes) in harness::files("corpus", "programs") {
            let src = String::from_utf8_lossy(&bytes).into_owned();
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            if let Ok(build) = zexus_tui::engine::build(&src, &seeds::options(2, 1000)) {
                let bytes = postcard::to_stdvec(&build.chunk).expect("encode");
                std::fs::write(corpus.join("verifier").join(format!("{stem}.O2.bin")), bytes).expect("write");
            }
            for (i, file) in seeds::cache_files(&src).iter().enumerate() {
                let input = seeds::cache_input(&src, file);
                std::fs::write(corpus.join("cache_loader").join(format!("{stem}.unit{i}.bin")), input).expect("write");
            }
        }
    }
    let regenerate = "regenerate with ZEXUS_FUZZ_WRITE_CORPUS=1 cargo test --release --test fuzz stored_seeds";
    let verifier = harness::files("corpus", "verifier");
    assert!(!verifier.is_empty(), "no bytecode seeds; {regenerate}");
    for (path, bytes) in verifier {
        let chunk =
            seeds::decode_chunk(&bytes).unwrap_or_else(|| panic!("{} does not decode; {regenerate}", path.display()));
        assert_eq!(verify(&chunk, None), Ok(()), "{}", path.display());
    }
    let cache = harness::files("corpus", "cache_loader");
    assert!(!cache.is_empty(), "no cache seeds; {regenerate}");
    for (path, bytes) in cache {
        let (src, file) = seeds::split_cache_input(&bytes).expect("a program and a cache file");
        let store = seeds::MemStore { forced: Some(file.to_vec()), ..Default::default() };
        let mut cache = zexus_tui::engine::cache::CompileCache::default().with_store(Box::new(store));
        let built = zexus_tui::engine::pipeline::build_with_cache(&src, &seeds::options(2, 1000), &mut cache);
        assert!(built.is_ok(), "{}", path.display());
        assert_eq!(
            cache.stats().disk_hits,
            1,
            "{} is not used by its program: {:?}; {regenerate}",
            path.display(),
            cache.last_disk_error()
        );
    }
    for (path, bytes) in harness::files("corpus", "theme_loader") {
        let text = String::from_utf8_lossy(&bytes);
        assert!(zexus_tui::tui::theme::Theme::from_json(&text, "seed").is_ok(), "{}", path.display());
    }
    for (path, bytes) in harness::files("corpus", "state_loader") {
        let text = String::from_utf8_lossy(&bytes);
        assert!(zexus_tui::vm::chain::state_from_json_text(&text).is_ok(), "{}", path.display());
    }
}

/// Length fields are never trusted for allocation: a sealed cache file whose payload claims
/// billions of chunks, instructions or string bytes is an error, not an allocation (the
/// process would abort on an allocation that large).
#[test]
fn huge_length_fields_are_rejected_without_allocating() {
    let key = UnitKey(7);
    let huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f];
    // The number of flattened chunks.
    let mut payload = vec![0, 0, 0];
    payload.extend_from_slice(&huge);
    let file = cache_file_with_payload(key, &payload);
    assert!(matches!(format::decode(key, &file), Err(FormatError::Payload(_))));
    // The number of constraints, then a chunk's instruction count and name length.
    let mut payload = vec![0, 0];
    payload.extend_from_slice(&huge);
    assert!(matches!(format::decode(key, &cache_file_with_payload(key, &payload)), Err(FormatError::Payload(_))));
    let leaf = nested_chunk_bytes(0);
    for at in 0..leaf.len() {
        let mut chunk = leaf.clone();
        chunk.splice(at..at + 1, huge.iter().copied());
        let _ = format::decode(key, &cache_file_around(key, &chunk));
        let _ = seeds::decode_chunk(&chunk);
    }
}

/// A sealed cache file for `key` around an arbitrary payload.
fn cache_file_with_payload(key: UnitKey, payload: &[u8]) -> Vec<u8> {
    let mut file = format::MAGIC.to_vec();
    file.extend_from_slice(&format::FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&key.0.to_le_bytes());
    file.extend_from_slice(&[0; 24]);
    file.extend_from_slice(payload);
    loaders::reseal(&mut file);
    file
}
