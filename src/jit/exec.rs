//! The only module with `unsafe` code: it owns the executable buffers of compiled loops and
//! calls into them, and it reads a value's raw bytes for the layout tests.
//!
//! Code memory is never writable and executable at once: dynasmrt's `Assembler::finalize`
//! maps the buffer read+execute after the code has been written.
#![warn(clippy::undocumented_unsafe_blocks)]

use dynasmrt::{AssemblyOffset, ExecutableBuffer};

use super::abi::JitContext;
use crate::vm::value::Value;

/// The signature of every compiled loop.
type EntryFn = extern "sysv64" fn(*mut JitContext) -> u32;

/// Finalized native code of one loop. No raw pointer into it escapes.
pub struct JitCode {
    buffer: ExecutableBuffer,
    entry: AssemblyOffset,
}

impl std::fmt::Debug for JitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitCode").field("len", &self.buffer.len()).field("entry", &self.entry.0).finish()
    }
}

impl JitCode {
    /// Wraps code emitted by `jit::x64`. Only the emitter may call this: `call` trusts that
    /// `entry` starts a function of type [`EntryFn`] that honours the contract in `jit::abi`.
    pub(in crate::jit) fn new(buffer: ExecutableBuffer, entry: AssemblyOffset) -> JitCode {
        JitCode { buffer, entry }
    }

    /// The machine code bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buffer
    }

    /// The address the code runs at (for disassembly listings).
    pub fn address(&self) -> u64 {
        self.buffer.ptr(AssemblyOffset(0)) as u64
    }

    /// Runs the code on `ctx` and returns the exit-site index it left through.
    ///
    /// The caller (`jit::mod`) has checked that every frame slot and global the loop touches
    /// lies inside the memory `ctx.frame` and `ctx.globals` point into, and, for code compiled
    /// with block counting, that `ctx.block_counts` points to one `u64` per block of the plan.
    pub fn call(&self, ctx: &mut JitContext) -> u32 {
        if self.entry.0 >= self.buffer.len() {
            return u32::MAX;
        }
        // SAFETY: `entry` is in bounds (checked above) and, per the constructor's contract, is
        // the start of a function emitted by `jit::x64` with the `EntryFn` signature; the
        // buffer is mapped executable and lives as long as `self`, which outlives the call. The
        // memory the code writes (frame slots, globals, block counters) is described above.
        let func: EntryFn = unsafe { std::mem::transmute::<*const u8, EntryFn>(self.buffer.ptr(self.entry)) };
        func(ctx as *mut JitContext)
    }
}

/// The bytes of a value as generated code sees them: the tag at offset 0 and the payload the
/// variant defines from offset 8. Padding is never read; it shows as zero.
pub fn value_bytes(v: &Value) -> [u8; 16] {
    let mut out = [0u8; 16];
    let src = v as *const Value as *const u8;
    // The tag byte and the payload bytes are always initialised; reading padding is not
    // allowed, so copy exactly the bytes the variant defines.
    let payload_len = match v {
        Value::Undef | Value::Null => 0,
        Value::Bool(_) | Value::Builtin(_) => 1,
        _ => 8,
    };
    // SAFETY: `src` points to a live `Value` of 16 bytes (asserted in `abi`); byte 0 is the
    // initialised tag and bytes 8..8+payload_len are the initialised payload of this variant.
    unsafe {
        out[0] = *src;
        for i in 0..payload_len {
            out[8 + i] = *src.add(8 + i);
        }
    }
    out
}

/// The layout of [`Value`] that `jit::abi` states, read through [`value_bytes`] (here, so that
/// `abi` does not import this module).
#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::jit::abi::{VALUE_PAYLOAD, VALUE_TAG};

    fn payload(v: &Value) -> u64 {
        let b = value_bytes(v);
        let mut p = [0u8; 8];
        p.copy_from_slice(&b[VALUE_PAYLOAD as usize..VALUE_PAYLOAD as usize + 8]);
        u64::from_le_bytes(p)
    }

    #[test]
    fn value_tags_sit_at_offset_zero() {
        let cases = [
            (Value::Undef, 0u8),
            (Value::Null, Value::TAG_NULL),
            (Value::Bool(true), Value::TAG_BOOL),
            (Value::Int(-5), Value::TAG_INT),
            (Value::Float(2.5), Value::TAG_FLOAT),
            (Value::Builtin(3), 5),
            (Value::str("x"), Value::FIRST_HEAP_TAG),
        ];
        for (v, tag) in cases {
            assert_eq!(value_bytes(&v)[VALUE_TAG as usize], tag, "{v:?}");
            assert_eq!(v.tag(), tag, "{v:?}");
        }
    }

    #[test]
    fn payloads_sit_at_offset_eight() {
        assert_eq!(payload(&Value::Int(-123456789)) as i64, -123456789);
        assert_eq!(payload(&Value::Int(i64::MIN)) as i64, i64::MIN);
        assert_eq!(f64::from_bits(payload(&Value::Float(-0.75))), -0.75);
        assert_eq!(value_bytes(&Value::Bool(true))[VALUE_PAYLOAD as usize], 1);
        assert_eq!(value_bytes(&Value::Bool(false))[VALUE_PAYLOAD as usize], 0);
        // A heap value's payload is its (non-null, aligned) pointer, distinct per allocation.
        let (p, q) = (payload(&Value::Str(Rc::new("a".into()))), payload(&Value::Str(Rc::new("b".into()))));
        assert!(p != 0 && p % 8 == 0 && q != 0 && p != q);
    }

    #[test]
    fn heap_tags_start_where_the_vm_says() {
        for v in [Value::str("s"), Value::list(vec![]), Value::map(Default::default())] {
            assert!(value_bytes(&v)[0] >= Value::FIRST_HEAP_TAG);
        }
        for v in [Value::Undef, Value::Null, Value::Bool(false), Value::Int(1), Value::Float(1.0), Value::Builtin(0)] {
            assert!(value_bytes(&v)[0] < Value::FIRST_HEAP_TAG);
        }
    }
}
