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
