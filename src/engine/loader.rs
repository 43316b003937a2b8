//! The program loader (MODULES.md §4, §5, §7, §8, §10): from the main file, follow every
//! `use` depth first, read and parse each file once, detect cycles, and check every file's
//! exports, imports and names, all before anything runs.
//!
//! The loader performs no file I/O itself: the caller hands it a [`ModuleFs`] (the CLI's
//! reads the real file system). Each file is parsed on its own and then placed at offsets of
//! its own (`base`), so that every span of the program names its file (`diag::files`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use indexmap::IndexMap;

use crate::compile::lower::{FileCtx, UseTarget};
use crate::compile::scope::declared_names;
use crate::diag::Diagnostic;
use crate::diag::files::{SourceFile, SourceFiles};
use crate::syntax::ast::*;
use crate::syntax::span::{SourceMap, Span};
use crate::syntax::{self, shift};

/// What the loader may ask of the file system.
pub trait ModuleFs {
    /// What is at `path` (symbolic links followed).
    fn kind(&self, path: &Path) -> PathKind;
    /// The canonical absolute path of an existing file.
    fn canonical(&self, path: &Path) -> Option<PathBuf>;
    /// The file's text, or the reason it cannot be read (`not valid UTF-8`, the OS message).
    fn read(&self, path: &Path) -> Result<String, String>;
}

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// Nothing (or something else).
    Missing,
}

/// One file of a loaded program.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    /// `N(F)`: `""` for the main file.
    pub name: String,
    /// `D(F)`.
    pub display: String,
    /// The canonical absolute path.
    pub canonical: PathBuf,
    /// Its text.
    pub text: String,
    /// Where its offsets start in the program.
    pub base: u32,
    /// Its AST, spans shifted by `base`.
    pub ast: AstProgram,
    /// Its export list.
    pub exports: Vec<String>,
    /// The compile context: namespace and resolved `use` statements.
    pub ctx: Rc<FileCtx>,
}

impl LoadedFile {
    /// The span of the whole file in program offsets.
    pub fn extent(&self) -> Span {
        Span::new(self.base as usize, self.base as usize + self.text.len())
    }
}

/// A loaded and checked program: the main file first, then the modules in load order
/// (module `i` of the program's module table is `files[i + 1]`).
#[derive(Debug, Clone)]
pub struct LoadedProgram {
    /// Every file.
    pub files: Vec<LoadedFile>,
}

impl LoadedProgram {
    /// The files as the diagnostics renderer needs them.
    pub fn sources(&self) -> SourceFiles {
        SourceFiles {
            files: self
                .files
                .iter()
                .map(|f| SourceFile {
                    name: f.name.clone(),
                    display: f.display.clone(),
                    text: f.text.clone(),
                    base: f.base,
                })
                .collect(),
        }
    }
}

/// Loads the program whose main file is `main_path` (as given on the command line) with text
/// `main_text`. On failure returns the diagnostics and the files read so far (to render them).
pub fn load(
    fs: &dyn ModuleFs,
    main_path: &Path,
    main_text: String,
) -> Result<LoadedProgram, (Vec<Diagnostic>, SourceFiles)> {
    let canonical = fs.canonical(main_path).unwrap_or_else(|| main_path.to_path_buf());
    let mut l = Loader {
        fs,
        files: Vec::new(),
        by_path: HashMap::new(),
        path: Vec::new(),
        imported_at: Vec::new(),
        next_base: 0,
        main_display: main_path.display().to_string(),
    };
    let display = l.main_display.clone();
    let res = l.load_file(String::new(), display, canonical, main_text, None);
    let fail = |l: &Loader<'_>, diags: Vec<Diagnostic>| (diags, l.sources());
    if let Err(d) = res {
        return Err(fail(&l, d));
    }
    let exports = match l.export_lists() {
        Ok(e) => e,
        Err(d) => return Err(fail(&l, d)),
    };
    let mut files = Vec::with_capacity(l.files.len());
    for i in 0..l.files.len() {
        if let Err(d) = l.check_names(i, &exports) {
            return Err(fail(&l, d));
        }
    }
    let names: Vec<String> = l.files.iter().map(|f| f.name.clone()).collect();
    // The texts and ASTs move into the loaded program (issue 13, M8: no copies).
    for (i, f) in std::mem::take(&mut l.files).into_iter().enumerate() {
        let mut uses = HashMap::new();
        for u in &f.uses {
            uses.insert(
                u.path_span.start,
                UseTarget {
                    module: (u.file - 1) as u32,
                    ns: names[u.file].clone(),
                    exports: exports[u.file].keys().cloned().collect(),
                },
            );
        }
        let ctx = Rc::new(FileCtx { ns: f.name.clone(), uses });
        files.push(LoadedFile {
            name: f.name,
            display: f.display,
            canonical: f.canonical,
            text: f.text,
            base: f.base,
            ast: f.ast,
            exports: exports[i].keys().cloned().collect(),
            ctx,
        });
    }
    Ok(LoadedProgram { files })
}

struct UseRef {
    /// The file it names.
    file: usize,
    path_span: Span,
}

struct FileState {
    name: String,
    display: String,
    canonical: PathBuf,
    text: String,
    base: u32,
    ast: AstProgram,
    uses: Vec<UseRef>,
}

struct Loader<'a> {
    fs: &'a dyn ModuleFs,
    files: Vec<FileState>,
    by_path: HashMap<PathBuf, usize>,
    /// The files being loaded (the walk's current path).
    path: Vec<usize>,
    /// For each file: the file and `use` position through which it was first reached.
    imported_at: Vec<Option<(usize, Span)>>,
    next_base: u32,
    main_display: String,
}

type Diags = Vec<Diagnostic>;

impl Loader<'_> {
    fn sources(&self) -> SourceFiles {
        SourceFiles {
            files: self
                .files
                .iter()
                .map(|f| SourceFile {
                    name: f.name.clone(),
                    display: f.display.clone(),
                    text: f.text.clone(),
                    base: f.base,
                })
                .collect(),
        }
    }

    /// Reads, parses and follows file number `files.len()`.
    fn load_file(
        &mut self,
        name: String,
        display: String,
        canonical: PathBuf,
        text: String,
        from: Option<(usize, Span)>,
    ) -> Result<usize, Diags> {
        let idx = self.files.len();
        let base = self.next_base;
        self.next_base = base.saturating_add(text.len() as u32).saturating_add(1);
        let (mut ast, mut diags) = syntax::parse(&text);
        shift::shift_program(&mut ast, base);
        for d in &mut diags {
            d.span = Span { start: d.span.start + base, end: d.span.end + base };
        }
        self.by_path.insert(canonical.clone(), idx);
        self.imported_at.push(from);
        self.files.push(FileState { name, display, canonical, text, base, ast, uses: Vec::new() });
        if !diags.is_empty() {
            return Err(self.with_chain(idx, diags));
        }
        self.path.push(idx);
        let uses: Vec<AstUse> = self.files[idx]
            .ast
            .stmts
            .iter()
            .filter_map(|s| match &s.kind {
                AstStmtKind::Use(u) => Some(u.clone()),
                _ => None,
            })
            .collect();
        for u in uses {
            let target = self.follow(idx, &u)?;
            self.files[idx].uses.push(UseRef { file: target, path_span: u.path_span });
        }
        self.path.pop();
        Ok(idx)
    }

    /// Resolves one `use` of file `from` and loads its module if it is new.
    fn follow(&mut self, from: usize, u: &AstUse) -> Result<usize, Diags> {
        let p = &u.path;
        // The position of a `use` is the opening quote of its path (MODULES.md §13.1).
        let quote = Span { start: u.path_span.start, end: u.path_span.start + 1 };
        let dir = self.files[from].canonical.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if p.starts_with('/') { PathBuf::from(p) } else { dir.join(p) };
        let mut candidates = vec![(base.clone(), p.clone())];
        if !p.ends_with(".zx") {
            let mut with = base.clone().into_os_string();
            with.push(".zx");
            candidates.push((PathBuf::from(with), format!("{p}.zx")));
        }
        let Some((found, written)) = candidates.into_iter().find(|(c, _)| self.fs.kind(c) == PathKind::File) else {
            let (msg, label) = if self.fs.kind(&base) == PathKind::Dir {
                (format!("syntax error: cannot import a directory: \"{p}\""), "a directory")
            } else {
                (format!("syntax error: module not found: \"{p}\""), "no such file")
            };
            let d = Diagnostic::error("E0150", msg, quote).with_label(label);
            return Err(self.with_chain(from, vec![d]));
        };
        let canonical = self.fs.canonical(&found).unwrap_or(found.clone());
        if let Some(&idx) = self.by_path.get(&canonical) {
            if let Some(pos) = self.path.iter().position(|&f| f == idx) {
                let mut names: Vec<&str> = self.path[pos..].iter().map(|&f| self.files[f].display.as_str()).collect();
                names.push(self.files[idx].display.as_str());
                let msg = format!("syntax error: import cycle: {}", names.join(" -> "));
                let d = Diagnostic::error("E0151", msg, quote).with_label("this closes the cycle");
                return Err(self.with_chain(from, vec![d]));
            }
            return Ok(idx);
        }
        let text = match self.fs.read(&found) {
            Ok(t) => t,
            Err(why) => {
                let d = Diagnostic::error("E0150", format!("syntax error: cannot read module \"{p}\": {why}"), quote)
                    .with_label("cannot be read");
                return Err(self.with_chain(from, vec![d]));
            }
        };
        let name = if written.starts_with('/') {
            normalize(&written)
        } else {
            normalize(&join(dir_of(&self.files[from].name), &written))
        };
        let display =
            if name.starts_with('/') { name.clone() } else { normalize(&join(dir_of(&self.main_display), &name)) };
        self.load_file(name, display, canonical, text, Some((from, u.path_span)))
    }

    /// Adds the import-chain notes of file `file` to `diags` (MODULES.md §13.1).
    fn with_chain(&self, file: usize, mut diags: Diags) -> Diags {
        let notes = self.chain_notes(file);
        for d in &mut diags {
            d.notes.extend(notes.iter().cloned());
        }
        diags
    }

    fn chain_notes(&self, mut file: usize) -> Vec<String> {
        let mut notes = Vec::new();
        while let Some(Some((from, span))) = self.imported_at.get(file) {
            let g = &self.files[*from];
            let map = SourceMap::new(&g.text);
            let pos = map.line_col(&g.text, span.start.saturating_sub(g.base));
            notes.push(format!("{} is imported at {}:{}:{}", self.files[file].display, g.display, pos.line, pos.col));
            file = *from;
        }
        notes
    }

    /// Every file's export list (§7), `export use` included; checks that each exported name is
    /// a top-level name of its file.
    fn export_lists(&self) -> Result<Vec<IndexMap<String, ()>>, Diags> {
        let mut lists: Vec<Option<IndexMap<String, ()>>> = vec![None; self.files.len()];
        // Modules load after their importers, and cycles are excluded: computing in reverse
        // load order sees every imported module's list first.
        for i in (0..self.files.len()).rev() {
            let f = &self.files[i];
            let top = top_level_names(&f.ast);
            let mut list = IndexMap::new();
            for id in &f.ast.exports {
                if !top.contains(&id.name) && !bound_by_use(&f.ast).contains(&id.name) {
                    let msg = format!(
                        "syntax error: cannot export '{}': it is not defined at the top level of this file",
                        id.name
                    );
                    let d = Diagnostic::error("E0152", msg, id.span).with_label("not a top-level name");
                    return Err(self.with_chain(i, vec![d]));
                }
                list.insert(id.name.clone(), ());
            }
            for (u, r) in uses_of(&f.ast).into_iter().zip(&f.uses) {
                if !u.reexport {
                    continue;
                }
                match &u.form {
                    UseForm::Alias(a) => {
                        list.insert(a.name.clone(), ());
                    }
                    UseForm::Named(ids) => ids.iter().for_each(|id| {
                        list.insert(id.name.clone(), ());
                    }),
                    UseForm::All => {
                        if let Some(Some(l)) = lists.get(r.file) {
                            for k in l.keys() {
                                list.insert(k.clone(), ());
                            }
                        }
                    }
                }
            }
            lists[i] = Some(list);
        }
        Ok(lists.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Named imports, clashes and assignments to imports in file `i` (§8.2, §10).
    fn check_names(&self, i: usize, exports: &[IndexMap<String, ()>]) -> Result<(), Diags> {
        let f = &self.files[i];
        // name -> (module file, is alias, path text)
        let mut bound: HashMap<String, (usize, bool, String, Span)> = HashMap::new();
        let err = |d: Diagnostic| Err(self.with_chain(i, vec![d]));
        for (u, r) in uses_of(&f.ast).into_iter().zip(&f.uses) {
            let names: Vec<(String, Span, bool)> = match &u.form {
                UseForm::All => exports[r.file].keys().map(|k| (k.clone(), u.path_span, false)).collect(),
                UseForm::Alias(a) => vec![(a.name.clone(), a.span, true)],
                UseForm::Named(ids) => {
                    for id in ids {
                        if !exports[r.file].contains_key(&id.name) {
                            let msg = format!("syntax error: module \"{}\" does not export '{}'", u.path, id.name);
                            return err(Diagnostic::error("E0153", msg, id.span).with_label("not exported"));
                        }
                    }
                    ids.iter().map(|id| (id.name.clone(), id.span, false)).collect()
                }
            };
            for (name, span, alias) in names {
                if let Some((file, was_alias, path, _)) = bound.get(&name)
                    && (*file != r.file || *was_alias != alias)
                {
                    let msg = format!(
                        "syntax error: name clash: '{name}' is imported from \"{path}\" and from \"{}\"",
                        u.path
                    );
                    return err(Diagnostic::error("E0154", msg, span).with_label("imported twice"));
                }
                bound.entry(name).or_insert((r.file, alias, u.path.clone(), span));
            }
        }
        for (name, span) in top_level_declarations(&f.ast) {
            if let Some((_, _, path, use_span)) = bound.get(&name) {
                let msg =
                    format!("syntax error: name clash: '{name}' is imported from \"{path}\" and declared in this file");
                let at = if span.start > use_span.start { span } else { *use_span };
                return err(Diagnostic::error("E0154", msg, at).with_label("clashes with an import"));
            }
        }
        let imported: HashSet<String> = bound.into_keys().collect();
        if let Some((name, span)) = assignment_to(&f.ast.stmts, &imported, &HashSet::new()) {
            let msg = format!("syntax error: cannot assign to imported name '{name}'");
            return err(Diagnostic::error("E0155", msg, span).with_label("imported names are read-only"));
        }
        Ok(())
    }
}

fn uses_of(ast: &AstProgram) -> Vec<&AstUse> {
    ast.stmts
        .iter()
        .filter_map(|s| match &s.kind {
            AstStmtKind::Use(u) => Some(u),
            _ => None,
        })
        .collect()
}

fn bound_by_use(ast: &AstProgram) -> HashSet<String> {
    let mut out = HashSet::new();
    for u in uses_of(ast) {
        match &u.form {
            UseForm::Alias(a) => {
                out.insert(a.name.clone());
            }
            UseForm::Named(ids) => out.extend(ids.iter().map(|i| i.name.clone())),
            UseForm::All => {}
        }
    }
    out
}

/// Names the file's top-level code declares or assigns with a plain `=` (§7).
fn top_level_names(ast: &AstProgram) -> HashSet<String> {
    let mut names: HashSet<String> = top_level_declarations(ast).into_iter().map(|(n, _)| n).collect();
    collect_assigned(&ast.stmts, &mut names);
    names
}

fn collect_assigned(stmts: &[AstStmt], out: &mut HashSet<String>) {
    for s in stmts {
        match &s.kind {
            AstStmtKind::Assign { target: AstTarget::Name(id), .. } => {
                out.insert(id.name.clone());
            }
            AstStmtKind::If { branches, else_body } => {
                branches.iter().for_each(|(_, b)| collect_assigned(b, out));
                if let Some(b) = else_body {
                    collect_assigned(b, out);
                }
            }
            AstStmtKind::While { body, .. } | AstStmtKind::ForEach { body, .. } | AstStmtKind::Block(body) => {
                collect_assigned(body, out)
            }
            AstStmtKind::Try { body, catch, finally } => {
                collect_assigned(body, out);
                if let Some(c) = catch {
                    collect_assigned(&c.body, out);
                }
                if let Some(f) = finally {
                    collect_assigned(&f.body, out);
                }
            }
            _ => {}
        }
    }
}

/// Every name the top-level code declares, with where (blocks included, function bodies not).
fn top_level_declarations(ast: &AstProgram) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    declarations(&ast.stmts, &mut out);
    out
}

fn declarations(stmts: &[AstStmt], out: &mut Vec<(String, Span)>) {
    for s in stmts {
        match &s.kind {
            AstStmtKind::Let { name, .. } => out.push((name.name.clone(), name.span)),
            AstStmtKind::Func(f) => {
                if let Some(n) = &f.name {
                    out.push((n.name.clone(), n.span));
                }
            }
            AstStmtKind::ForEach { var, key, body, .. } => {
                if let Some(k) = key {
                    out.push((k.name.clone(), k.span));
                }
                out.push((var.name.clone(), var.span));
                declarations(body, out);
            }
            AstStmtKind::If { branches, else_body } => {
                branches.iter().for_each(|(_, b)| declarations(b, out));
                if let Some(b) = else_body {
                    declarations(b, out);
                }
            }
            AstStmtKind::While { body, .. } | AstStmtKind::Block(body) => declarations(body, out),
            AstStmtKind::Try { body, catch, finally } => {
                declarations(body, out);
                if let Some(c) = catch {
                    if let Some(v) = &c.var {
                        out.push((v.name.clone(), v.span));
                    }
                    declarations(&c.body, out);
                }
                if let Some(f) = finally {
                    declarations(&f.body, out);
                }
            }
            _ => {}
        }
    }
}

/// The first assignment in `stmts` (functions included) whose target is one of `imported`
/// and not shadowed by a local of an enclosing function (`locals`).
fn assignment_to(stmts: &[AstStmt], imported: &HashSet<String>, locals: &HashSet<String>) -> Option<(String, Span)> {
    let mut seen: Vec<&AstStmt> = Vec::new();
    let mut funcs: Vec<&AstFunc> = Vec::new();
    walk_stmts(stmts, &mut |s| seen.push(s), &mut |f| funcs.push(f));
    for s in seen {
        if let AstStmtKind::Assign { target: AstTarget::Name(id), .. } = &s.kind
            && imported.contains(&id.name)
            && !locals.contains(&id.name)
        {
            return Some((id.name.clone(), id.span));
        }
    }
    for f in funcs {
        let params: Vec<String> = f.params.iter().map(|p| p.name.clone()).collect();
        let mut inner = locals.clone();
        inner.extend(declared_names(&params, &f.body));
        if let Some(found) = assignment_to(&f.body, imported, &inner) {
            return Some(found);
        }
    }
    None
}

/// Calls `on_stmt` for every statement outside function bodies and `on_func` for every
/// function met (declared or literal) at that level.
fn walk_stmts<'a>(stmts: &'a [AstStmt], on_stmt: &mut dyn FnMut(&'a AstStmt), on_func: &mut dyn FnMut(&'a AstFunc)) {
    for s in stmts {
        on_stmt(s);
        let mut funcs = Vec::new();
        crate::compile::scope::children_of_stmts(std::slice::from_ref(s), &mut funcs);
        for f in funcs {
            on_func(f);
        }
        match &s.kind {
            AstStmtKind::If { branches, else_body } => {
                branches.iter().for_each(|(_, b)| walk_stmts(b, on_stmt, &mut |_| {}));
                if let Some(b) = else_body {
                    walk_stmts(b, on_stmt, &mut |_| {});
                }
            }
            AstStmtKind::While { body, .. } | AstStmtKind::ForEach { body, .. } | AstStmtKind::Block(body) => {
                walk_stmts(body, on_stmt, &mut |_| {})
            }
            AstStmtKind::Try { body, catch, finally } => {
                walk_stmts(body, on_stmt, &mut |_| {});
                if let Some(c) = catch {
                    walk_stmts(&c.body, on_stmt, &mut |_| {});
                }
                if let Some(f) = finally {
                    walk_stmts(&f.body, on_stmt, &mut |_| {});
                }
            }
            _ => {}
        }
    }
}

/// `normalize(p)` of §4.3: drops `.` and empty segments, removes `name/..` pairs, keeps
/// leading `..` and a leading `/`.
pub fn normalize(p: &str) -> String {
    let absolute = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." if out.last().is_some_and(|l| *l != "..") => {
                out.pop();
            }
            ".." if absolute => {}
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if absolute { format!("/{joined}") } else { joined }
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() { b.to_string() } else { format!("{a}/{b}") }
}

fn dir_of(p: &str) -> &str {
    p.rfind('/').map_or("", |i| &p[..i])
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(normalize("./modules/lib/../util.zx"), "modules/util.zx");
        assert_eq!(normalize("modules/nested/../identity.zx"), "modules/identity.zx");
        assert_eq!(normalize("../x.zx"), "../x.zx");
        assert_eq!(normalize("/a/./b/../c"), "/a/c");
    }
}
