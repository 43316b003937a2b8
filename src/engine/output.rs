//! The program-output buffer: what a captured session's program printed, as complete lines (the
//! last ones) and a count, shared between the VM (which writes it) and snapshots (which read it).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Write;
use std::rc::Rc;

/// Output lines the buffer keeps.
const OUTPUT_BUFFER_LINES: usize = 10_000;

/// Longest output line kept, in bytes (longer lines are cut).
const MAX_OUTPUT_LINE_BYTES: usize = 4_096;

/// Program output captured for the debugger: complete lines (the last ones) plus a count.
///
/// Cloning shares the buffer; one clone is handed to the VM as its writer.
#[derive(Debug, Clone, Default)]
pub struct OutputLog(Rc<RefCell<OutputBuffer>>);

#[derive(Debug, Default)]
struct OutputBuffer {
    lines: VecDeque<String>,
    partial: Vec<u8>,
    total: u64,
}

impl OutputBuffer {
    fn push_line(&mut self, bytes: &[u8]) {
        let line = String::from_utf8_lossy(bytes).into_owned();
        if self.lines.len() >= OUTPUT_BUFFER_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
        self.total += 1;
    }
}

impl OutputLog {
    /// Forgets everything printed so far (after a restart).
    pub fn clear(&self) {
        *self.0.borrow_mut() = OutputBuffer::default();
    }

    /// The last `n` complete lines and the number of lines printed in all.
    pub fn tail(&self, n: usize) -> (Vec<String>, u64) {
        let buf = self.0.borrow();
        let skip = buf.lines.len().saturating_sub(n);
        (buf.lines.iter().skip(skip).cloned().collect(), buf.total)
    }
}

impl Write for OutputLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut buf = self.0.borrow_mut();
        let mut rest = bytes;
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(at);
            let mut line = std::mem::take(&mut buf.partial);
            let room = MAX_OUTPUT_LINE_BYTES.saturating_sub(line.len());
            line.extend_from_slice(&head[..head.len().min(room)]);
            buf.push_line(&line);
            rest = &tail[1..];
        }
        let room = MAX_OUTPUT_LINE_BYTES.saturating_sub(buf.partial.len());
        buf.partial.extend_from_slice(&rest[..rest.len().min(room)]);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_log_splits_lines_and_keeps_partial() {
        let mut log = OutputLog::default();
        let _ = log.write_all(b"a\nbc");
        let _ = log.write_all(b"d\n\ne");
        let (lines, total) = log.tail(10);
        assert_eq!(lines, vec!["a", "bcd", ""]);
        assert_eq!(total, 3);
        let (last, _) = log.tail(1);
        assert_eq!(last, vec![""]);
    }
}
