//! Exception tables (ERRORS.md §4): each function lists the pc ranges a `try` statement
//! protects and where control goes when a catchable error is raised inside one, like CPython's
//! exception table. Nothing runs when a `try` is entered apart from recording the transaction
//! depth; the table is consulted only while an error unwinds.
//!
//! Order is nesting: an entry for an inner `try` comes before every entry of the `try`
//! statements around it, so the first entry whose range holds a pc is the innermost handler
//! for it. The ranges of one `try` never hold its own handler code (an error in a catch or
//! finally body goes outward).

use serde::{Deserialize, Serialize};

/// What a handler does with the error it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HandlerKind {
    /// A catch body: the error value (a thrown value, or the message string) is pushed.
    Catch,
    /// A finally body run because of an error: a token for the pending error is pushed, and
    /// `Reraise` raises that same error again when the body ends.
    Finally,
}

/// One protected range and its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Handler {
    /// First protected instruction.
    pub start: u32,
    /// One past the last protected instruction.
    pub end: u32,
    /// First instruction of the handler.
    pub target: u32,
    /// Operand-stack depth at the handler before the pushed value (the depth of the `try`).
    pub depth: u32,
    /// Frame slot holding the transaction depth recorded when the `try` began (ERRORS.md §6).
    pub tx_slot: u16,
    /// Catch or finally.
    pub kind: HandlerKind,
}

impl Handler {
    /// True if the instruction at `pc` is protected by this handler.
    #[inline]
    pub fn covers(&self, pc: u32) -> bool {
        self.start <= pc && pc < self.end
    }
}

/// The innermost handler protecting `pc`, if any.
pub fn find(handlers: &[Handler], pc: u32) -> Option<&Handler> {
    handlers.iter().find(|h| h.covers(pc))
}

/// Renumbers every pc of `handlers` through `remap` (used when instructions are removed);
/// ranges that become empty are dropped.
pub fn renumber(handlers: &mut Vec<Handler>, remap: impl Fn(u32) -> u32) {
    for h in handlers.iter_mut() {
        h.start = remap(h.start);
        h.end = remap(h.end);
        h.target = remap(h.target);
    }
    handlers.retain(|h| h.start < h.end);
}
