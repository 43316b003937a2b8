//! The contract between Rust and generated code: the `#[repr(C)]` context every compiled loop
//! receives, its field offsets, and the layout of [`Value`] the code relies on.
//!
//! Generated code has the type `extern "sysv64" fn(*mut JitContext) -> u32`; the return value is
//! the index of the exit site it left through.

use std::mem::offset_of;

use crate::vm::value::Value;

/// Deepest operand stack a compiled loop may build (deeper loops are refused).
pub const MAX_OPERANDS: usize = 64;

/// Size of a [`Value`] in bytes.
pub const VALUE_SIZE: i32 = 16;
/// Offset of the tag byte inside a [`Value`].
pub const VALUE_TAG: i32 = 0;
/// Offset of the 8-byte payload inside a [`Value`].
pub const VALUE_PAYLOAD: i32 = 8;

const _: () = assert!(std::mem::size_of::<Value>() == VALUE_SIZE as usize);
const _: () = assert!(std::mem::align_of::<Value>() == 8);

/// An operand the native code had pushed when it exited: the interpreter gets it back as a
/// value (only non-heap tags ever appear here).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct JitPending {
    /// The value's tag ([`Value::TAG_INT`], [`Value::TAG_FLOAT`] or [`Value::TAG_BOOL`]).
    pub tag: u64,
    /// The value's payload bits.
    pub payload: u64,
}

/// Everything generated code reads and writes besides the VM's value stack.
#[derive(Debug)]
#[repr(C)]
pub struct JitContext {
    /// Address of frame slot 0 (`&stack[base]`).
    pub frame: *mut Value,
    /// Address of the value stack (`&stack[0]`), where the globals live.
    pub globals: *mut Value,
    /// Instructions the native code may stand for before it must return.
    pub fuel: u64,
    /// Instructions executed natively (written on exit).
    pub instructions: u64,
    /// Gas those instructions cost (written on exit).
    pub gas: u64,
    /// Number of valid entries in `pending`.
    pub n_pending: u64,
    /// Operands to push onto the value stack before the interpreter resumes.
    pub pending: [JitPending; MAX_OPERANDS],
    /// Spill area for operands that do not fit in registers.
    pub spill: [u64; MAX_OPERANDS],
    /// Per-block entry counters of a loop compiled with counting on (one `u64` per block, in
    /// block order); null, and never read, for loops compiled without counting.
    pub block_counts: *mut u64,
    /// Where the code starts: 0 at the loop header (a new entry), `k` at the `k`-th resumable
    /// checkpoint of `x64::Compiled::resume_points` (going on after a fuel exit there).
    pub resume: u64,
}

impl JitContext {
    /// A context over the given frame and globals with `fuel` instructions to spend.
    pub fn new(frame: *mut Value, globals: *mut Value, fuel: u64) -> JitContext {
        JitContext {
            frame,
            globals,
            fuel,
            instructions: 0,
            gas: 0,
            n_pending: 0,
            pending: [JitPending::default(); MAX_OPERANDS],
            spill: [0; MAX_OPERANDS],
            block_counts: std::ptr::null_mut(),
            resume: 0,
        }
    }

    /// The pending operands as values, bottom first. Unknown tags (which generated code never
    /// writes) become `null` rather than panicking.
    pub fn pending_values(&self) -> impl Iterator<Item = Value> + '_ {
        let n = (self.n_pending as usize).min(MAX_OPERANDS);
        self.pending.iter().take(n).map(|p| value_from_bits(p.tag, p.payload))
    }
}

/// Rebuilds a non-heap value from its tag and payload bits.
pub fn value_from_bits(tag: u64, payload: u64) -> Value {
    match u8::try_from(tag) {
        Ok(Value::TAG_INT) => Value::Int(payload as i64),
        Ok(Value::TAG_FLOAT) => Value::Float(f64::from_bits(payload)),
        Ok(Value::TAG_BOOL) => Value::Bool(payload & 0xff != 0),
        _ => Value::Null,
    }
}

/// Offset of [`JitContext::frame`].
pub const CTX_FRAME: i32 = offset_of!(JitContext, frame) as i32;
/// Offset of [`JitContext::globals`].
pub const CTX_GLOBALS: i32 = offset_of!(JitContext, globals) as i32;
/// Offset of [`JitContext::fuel`].
pub const CTX_FUEL: i32 = offset_of!(JitContext, fuel) as i32;
/// Offset of [`JitContext::instructions`].
pub const CTX_INSTRUCTIONS: i32 = offset_of!(JitContext, instructions) as i32;
/// Offset of [`JitContext::gas`].
pub const CTX_GAS: i32 = offset_of!(JitContext, gas) as i32;
/// Offset of [`JitContext::n_pending`].
pub const CTX_N_PENDING: i32 = offset_of!(JitContext, n_pending) as i32;
/// Offset of [`JitContext::pending`].
pub const CTX_PENDING: i32 = offset_of!(JitContext, pending) as i32;
/// Offset of [`JitContext::spill`].
pub const CTX_SPILL: i32 = offset_of!(JitContext, spill) as i32;
/// Offset of [`JitContext::block_counts`].
pub const CTX_BLOCK_COUNTS: i32 = offset_of!(JitContext, block_counts) as i32;
/// Offset of [`JitContext::resume`].
pub const CTX_RESUME: i32 = offset_of!(JitContext, resume) as i32;
/// Size of one [`JitPending`].
pub const PENDING_SIZE: i32 = std::mem::size_of::<JitPending>() as i32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_bits_round_trip() {
        assert!(matches!(value_from_bits(Value::TAG_INT as u64, (-7i64) as u64), Value::Int(-7)));
        assert!(matches!(value_from_bits(Value::TAG_FLOAT as u64, 1.5f64.to_bits()), Value::Float(f) if f == 1.5));
        assert!(matches!(value_from_bits(Value::TAG_BOOL as u64, 1), Value::Bool(true)));
        assert!(matches!(value_from_bits(99, 1), Value::Null));
    }

    #[test]
    fn context_offsets_are_distinct_and_aligned() {
        let offs = [
            CTX_FRAME,
            CTX_GLOBALS,
            CTX_FUEL,
            CTX_INSTRUCTIONS,
            CTX_GAS,
            CTX_N_PENDING,
            CTX_PENDING,
            CTX_SPILL,
            CTX_BLOCK_COUNTS,
            CTX_RESUME,
        ];
        for w in offs.windows(2) {
            assert!(w[0] < w[1]);
        }
        assert!(offs.iter().all(|o| o % 8 == 0));
        assert_eq!(PENDING_SIZE, 16);
    }
}
