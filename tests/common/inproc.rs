//! Runs programs in-process through the engine, capturing their output.

#![allow(dead_code)]

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use zexus_tui::engine::{Options, Session};
use zexus_tui::vm::interp::Halt;

/// A `Write` that appends to a shared buffer.
#[derive(Clone, Default)]
pub struct SharedBuf(pub Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a program did: its output and how it ended (error message and position, or "ok").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behaviour {
    /// Everything printed.
    pub output: String,
    /// `ok`, `syntax: ...` or `error at START: MESSAGE`.
    pub end: String,
}

/// Runs `src` with `options` and reports its behaviour.
pub fn behaviour(src: &str, options: &Options) -> Behaviour {
    let buf = SharedBuf::default();
    let mut session = match Session::builder(src).options(options).output(Box::new(buf.clone())).build() {
        Ok(s) => s,
        Err(diags) => {
            return Behaviour { output: String::new(), end: format!("syntax: {}", diags[0].message) };
        }
    };
    let end = match session.run_to_end() {
        Halt::Error(e) => format!("error at {}: {}", e.span.start, e.message),
        _ => "ok".to_string(),
    };
    session.vm.flush();
    let output = String::from_utf8_lossy(&buf.0.borrow()).into_owned();
    Behaviour { output, end }
}
