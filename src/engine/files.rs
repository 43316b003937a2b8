//! The files of the program a session runs, as the debugger and snapshots see them: the main
//! file first (offsets from 0), then each module of a multi-file program at its own offsets
//! (`base`, MODULES.md; `engine::loader`), so that any span of the program names its file and
//! a line of that file.

use crate::bytecode::chunk::Chunk;
use crate::syntax::span::{LineCol, SourceMap, Span};

/// One file of the program.
#[derive(Debug, Clone)]
pub struct FileText {
    /// `N(F)`: `""` for the main file.
    pub name: String,
    /// `D(F)`: how the debugger names it (the main file: the session's display name).
    pub display: String,
    /// Its text.
    pub source: String,
    /// Its first offset in the program.
    pub base: u32,
    /// Its line index.
    pub map: SourceMap,
}

impl FileText {
    /// A file of `source` at offset `base`.
    pub fn new(name: &str, display: &str, source: &str, base: u32) -> FileText {
        FileText::owned(name, display, source.to_string(), base)
    }

    /// [`FileText::new`], taking the text (no copy).
    pub fn owned(name: &str, display: &str, source: String, base: u32) -> FileText {
        let map = SourceMap::new(&source);
        FileText { name: name.to_string(), display: display.to_string(), source, base, map }
    }
}

/// Every file of the program, the main file first (never empty).
#[derive(Debug, Clone)]
pub struct ProgramFiles {
    /// The files in load order.
    pub files: Vec<FileText>,
}

impl ProgramFiles {
    /// A one-file program.
    pub fn single(display: &str, source: &str) -> ProgramFiles {
        ProgramFiles { files: vec![FileText::new("", display, source, 0)] }
    }

    /// The files of a loaded multi-file program.
    pub fn loaded(program: &super::loader::LoadedProgram) -> ProgramFiles {
        ProgramFiles {
            files: program.files.iter().map(|f| FileText::new(&f.name, &f.display, &f.text, f.base)).collect(),
        }
    }

    /// The index of the file that holds program offset `offset`.
    pub fn file_of(&self, offset: u32) -> u32 {
        self.files.iter().rposition(|f| f.base <= offset).unwrap_or(0) as u32
    }

    /// The file and the 1-based line and column of program offset `offset`.
    pub fn locate(&self, offset: u32) -> (u32, LineCol) {
        let idx = self.file_of(offset);
        let f = &self.files[idx as usize];
        (idx, f.map.line_col(&f.source, offset.saturating_sub(f.base)))
    }

    /// The file at `idx` (the main file when out of range).
    pub fn get(&self, idx: u32) -> &FileText {
        self.files.get(idx as usize).unwrap_or(&self.files[0])
    }

    /// The index of the file named `display`, if the program has one.
    pub fn by_display(&self, display: &str) -> Option<u32> {
        self.files.iter().position(|f| f.display == display).map(|i| i as u32)
    }

    /// True for a program of more than one file.
    pub fn is_multi(&self) -> bool {
        self.files.len() > 1
    }
}

/// A copy of a module's chunk tree with spans relative to its own file (`base` subtracted) and
/// qualified names (`f@D`, `<module D>`), as listings of that file show it.
pub fn localized(chunk: &Chunk, base: u32, display: &str) -> Chunk {
    let mut c = chunk.clone();
    localize(&mut c, base, display);
    c
}

fn localize(c: &mut Chunk, base: u32, display: &str) {
    let back = |s: &mut Span| {
        s.start = s.start.saturating_sub(base);
        s.end = s.end.saturating_sub(base);
    };
    c.spans.iter_mut().for_each(back);
    back(&mut c.span);
    for (_, parts) in &mut c.part_spans {
        parts.iter_mut().for_each(back);
    }
    c.name = Some(match c.name.as_deref() {
        Some("<module>") => format!("<module {display}>"),
        Some(n) => format!("{n}@{display}"),
        None => format!("<anonymous>@{display}"),
    });
    c.children.iter_mut().for_each(|k| localize(k, base, display));
}
