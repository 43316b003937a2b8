//! Disassembly of generated code with iced-x86 (Intel syntax), grouped by the bytecode
//! instruction each piece of machine code came from.

use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter};

use super::info::JitCodeListing;

/// The name of a general-purpose register by number (0 = rax ... 15 = r15).
pub fn register_name(r: u8) -> &'static str {
    const NAMES: [&str; 16] =
        ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
    NAMES.get(r as usize).copied().unwrap_or("?")
}

/// One decoded machine instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeLine {
    /// Offset from the start of the code.
    pub offset: usize,
    /// The instruction's bytes in hex.
    pub hex: String,
    /// Intel-syntax text.
    pub text: String,
}

/// What part of the loop a run of machine code belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NativeSection {
    /// Entry: save registers, check variable types, load registers.
    Prologue,
    /// The code of bytecode instruction `pc`.
    Instr(u32),
    /// Cold code: exit stubs and the shared epilogue.
    Stubs,
}

/// Decodes all of `code`.
pub fn decode(code: &JitCodeListing) -> Vec<NativeLine> {
    // Decoded at ip 0, so branch targets read as offsets into the code, not as the buffer's
    // address (which differs from run to run): listings diff cleanly.
    let mut decoder = Decoder::with_ip(64, &code.bytes, 0, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    let mut instruction = Instruction::default();
    let mut out = Vec::new();
    while decoder.can_decode() {
        decoder.decode_out(&mut instruction);
        let mut text = String::new();
        formatter.format(&instruction, &mut text);
        let offset = instruction.ip() as usize;
        let end = offset.saturating_add(instruction.len()).min(code.bytes.len());
        let hex = code.bytes.get(offset..end).unwrap_or(&[]).iter().map(|b| format!("{b:02x}")).collect();
        out.push(NativeLine { offset, hex, text });
    }
    out
}

/// Decodes `code` and groups the lines by section, in address order.
pub fn sections(code: &JitCodeListing) -> Vec<(NativeSection, Vec<NativeLine>)> {
    let mut out: Vec<(NativeSection, Vec<NativeLine>)> = Vec::new();
    for line in decode(code) {
        let section = if line.offset >= code.stubs_at {
            NativeSection::Stubs
        } else {
            match code.pc_offsets.iter().rev().find(|(_, at)| *at <= line.offset) {
                Some((pc, _)) => NativeSection::Instr(*pc),
                None => NativeSection::Prologue,
            }
        };
        match out.last_mut() {
            Some((s, lines)) if *s == section => lines.push(line),
            _ => out.push((section, vec![line])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_known_bytes() {
        // mov rax, rbx; add rax, 1; ret
        let code = JitCodeListing {
            address: 0x1000,
            bytes: vec![0x48, 0x89, 0xd8, 0x48, 0x83, 0xc0, 0x01, 0xc3],
            pc_offsets: vec![(7, 3)],
            stubs_at: 7,
        };
        let lines = decode(&code);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["mov rax,rbx", "add rax,1", "ret"]);
        let secs = sections(&code);
        assert_eq!(
            secs.iter().map(|(s, l)| (s.clone(), l.len())).collect::<Vec<_>>(),
            [(NativeSection::Prologue, 1), (NativeSection::Instr(7), 1), (NativeSection::Stubs, 1)]
        );
    }
}
