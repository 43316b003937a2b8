//! Static name resolution (LANGUAGE.md §5.2): which names a function declares, which names
//! its nested functions capture, and therefore which locals must live in cells.

use std::collections::BTreeSet;

use indexmap::IndexSet;

use crate::syntax::ast::{AstExpr, AstExprKind, AstFunc, AstStmt, AstStmtKind, AstTarget};

/// Name of the hidden variable that records whether `name` is a constant.
pub fn const_flag_name(name: &str) -> String {
    format!("%const:{name}")
}

/// Names a function body declares: parameters, `let`/`const`, `for each` variables, named
/// function declarations (blocks are not boundaries; nested function bodies are), plus the
/// hidden const flag of every `const` name. Order: parameters first, then first appearance.
pub fn declared_names(params: &[String], body: &[AstStmt]) -> IndexSet<String> {
    let mut names: IndexSet<String> = params.iter().cloned().collect();
    collect_declared(body, &mut names);
    names
}

fn collect_declared(stmts: &[AstStmt], names: &mut IndexSet<String>) {
    for stmt in stmts {
        match &stmt.kind {
            AstStmtKind::Let { name, is_const, .. } => {
                names.insert(name.name.clone());
                if *is_const {
                    names.insert(const_flag_name(&name.name));
                }
            }
            AstStmtKind::Func(func) => {
                if let Some(name) = &func.name {
                    names.insert(name.name.clone());
                }
            }
            AstStmtKind::ForEach { var, key, body, .. } => {
                if let Some(key) = key {
                    names.insert(key.name.clone());
                }
                names.insert(var.name.clone());
                collect_declared(body, names);
            }
            AstStmtKind::If { branches, else_body } => {
                for (_, body) in branches {
                    collect_declared(body, names);
                }
                if let Some(body) = else_body {
                    collect_declared(body, names);
                }
            }
            AstStmtKind::While { body, .. } | AstStmtKind::Block(body) => collect_declared(body, names),
            AstStmtKind::Try { body, catch, finally } => {
                collect_declared(body, names);
                if let Some(c) = catch {
                    // A catch variable is declared like `let` (ERRORS.md §4.3).
                    if let Some(var) = &c.var {
                        names.insert(var.name.clone());
                    }
                    collect_declared(&c.body, names);
                }
                if let Some(f) = finally {
                    collect_declared(&f.body, names);
                }
            }
            _ => {}
        }
    }
}

/// Names a function refers to but does not declare (its free names, including those of its
/// nested functions), over-approximating const flags: every store to `x` also refers to the
/// hidden flag of `x`.
pub fn free_names(func: &AstFunc) -> BTreeSet<String> {
    let params: Vec<String> = func.params.iter().map(|p| p.name.clone()).collect();
    let declared = declared_names(&params, &func.body);
    let mut used = BTreeSet::new();
    let mut walker = UseCollector { used: &mut used };
    func.defaults.iter().for_each(|d| walker.expr(d));
    walker.stmts(&func.body);
    used.retain(|n| !declared.contains(n));
    used
}

/// Names referenced by the functions nested directly inside `func` (in its body or its
/// default expressions; used to find cells).
pub fn captured_by_children(func: &AstFunc) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut funcs = Vec::new();
    children_of_func(func, &mut funcs);
    for f in funcs {
        used.extend(free_names(f));
    }
    used
}

struct UseCollector<'a> {
    used: &'a mut BTreeSet<String>,
}

impl UseCollector<'_> {
    fn store(&mut self, name: &str) {
        self.used.insert(name.to_string());
        self.used.insert(const_flag_name(name));
    }

    fn stmts(&mut self, stmts: &[AstStmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, stmt: &AstStmt) {
        match &stmt.kind {
            AstStmtKind::Let { name, value, .. } => {
                self.expr(value);
                self.store(&name.name);
            }
            AstStmtKind::Func(func) => {
                if let Some(name) = &func.name {
                    self.store(&name.name);
                }
                self.used.extend(free_names(func));
            }
            AstStmtKind::If { branches, else_body } => {
                for (cond, body) in branches {
                    self.expr(cond);
                    self.stmts(body);
                }
                if let Some(body) = else_body {
                    self.stmts(body);
                }
            }
            AstStmtKind::While { cond, body } => {
                self.expr(cond);
                self.stmts(body);
            }
            AstStmtKind::ForEach { var, key, iterable, body } => {
                self.expr(iterable);
                if let Some(key) = key {
                    self.store(&key.name);
                }
                self.store(&var.name);
                self.stmts(body);
            }
            AstStmtKind::Return(Some(e)) | AstStmtKind::Expr(e) => self.expr(e),
            AstStmtKind::Print(args) => args.iter().for_each(|a| self.expr(a)),
            AstStmtKind::Assign { target, value, .. } => {
                match target {
                    AstTarget::Name(id) => self.store(&id.name),
                    AstTarget::Index { object, index, .. } => {
                        self.expr(object);
                        self.expr(index);
                    }
                    AstTarget::Member { object, .. } => self.expr(object),
                }
                self.expr(value);
            }
            AstStmtKind::Block(body) => self.stmts(body),
            AstStmtKind::StateSet { key, value, .. } => {
                self.expr(key);
                self.expr(value);
            }
            AstStmtKind::Verify { cond, message } => {
                self.expr(cond);
                if let Some(m) = message {
                    self.expr(m);
                }
            }
            AstStmtKind::Try { body, catch, finally } => {
                self.stmts(body);
                if let Some(c) = catch {
                    if let Some(var) = &c.var {
                        self.store(&var.name);
                    }
                    self.stmts(&c.body);
                }
                if let Some(f) = finally {
                    self.stmts(&f.body);
                }
            }
            AstStmtKind::Throw { value, .. } => self.expr(value),
            AstStmtKind::Require { cond, message, .. } => {
                self.expr(cond);
                if let Some(m) = message {
                    self.expr(m);
                }
            }
            AstStmtKind::Revert { message, .. } => {
                if let Some(m) = message {
                    self.expr(m);
                }
            }
            AstStmtKind::Emit { args, .. } => args.iter().for_each(|a| self.expr(a)),
            AstStmtKind::Break
            | AstStmtKind::Continue
            | AstStmtKind::Use(_)
            | AstStmtKind::Return(None)
            | AstStmtKind::TxBegin
            | AstStmtKind::TxCommit
            | AstStmtKind::TxRevert => {}
        }
    }

    fn expr(&mut self, e: &AstExpr) {
        match &e.kind {
            AstExprKind::Name(n) => {
                self.used.insert(n.clone());
            }
            AstExprKind::Func(func) => {
                self.used.extend(free_names(func));
            }
            _ => for_each_subexpr(e, |sub| self.expr(sub)),
        }
    }
}

/// Calls `f` on each direct sub-expression of `e` (not descending into function bodies).
pub fn for_each_subexpr<'a>(e: &'a AstExpr, mut f: impl FnMut(&'a AstExpr)) {
    match &e.kind {
        AstExprKind::Int(_)
        | AstExprKind::Float(_)
        | AstExprKind::Str(_)
        | AstExprKind::Bool(_)
        | AstExprKind::Null
        | AstExprKind::Name(_)
        | AstExprKind::This
        | AstExprKind::Func(_) => {}
        AstExprKind::List(items) => items.iter().for_each(f),
        AstExprKind::Map(entries) => entries.iter().for_each(|(_, _, v)| f(v)),
        AstExprKind::Unary { operand, .. } => f(operand),
        AstExprKind::Binary { lhs, rhs, .. }
        | AstExprKind::Logic { lhs, rhs, .. }
        | AstExprKind::Coalesce { lhs, rhs } => {
            f(lhs);
            f(rhs);
        }
        AstExprKind::Ternary { cond, then, otherwise } => {
            f(cond);
            f(then);
            f(otherwise);
        }
        AstExprKind::Call { callee, args, .. } => {
            f(callee);
            args.iter().for_each(f);
        }
        AstExprKind::MethodCall { receiver, args, .. } => {
            f(receiver);
            args.iter().for_each(f);
        }
        AstExprKind::Index { object, index, .. } => {
            f(object);
            f(index);
        }
        AstExprKind::Member { object, .. } => f(object),
        AstExprKind::StateGet { key, .. } => f(key),
        AstExprKind::Hash { value, .. } => f(value),
        AstExprKind::Construct { ty, fields, .. } => {
            f(ty);
            fields.iter().for_each(|(_, _, v)| f(v));
        }
    }
}

/// Function literals directly inside `func`'s default expressions, then the functions directly
/// inside its body, in the order the compiler creates them.
pub fn children_of_func<'a>(func: &'a AstFunc, out: &mut Vec<&'a AstFunc>) {
    for default in &func.defaults {
        children_of_expr(default, out);
    }
    children_of_stmts(&func.body, out);
}

/// Function literals and declarations directly inside `stmts` (not inside nested functions).
pub fn children_of_stmts<'a>(stmts: &'a [AstStmt], out: &mut Vec<&'a AstFunc>) {
    for s in stmts {
        match &s.kind {
            AstStmtKind::Func(f) => out.push(f),
            AstStmtKind::Let { value, .. } => children_of_expr(value, out),
            AstStmtKind::If { branches, else_body } => {
                for (c, b) in branches {
                    children_of_expr(c, out);
                    children_of_stmts(b, out);
                }
                if let Some(b) = else_body {
                    children_of_stmts(b, out);
                }
            }
            AstStmtKind::While { cond, body } => {
                children_of_expr(cond, out);
                children_of_stmts(body, out);
            }
            AstStmtKind::ForEach { iterable, body, .. } => {
                children_of_expr(iterable, out);
                children_of_stmts(body, out);
            }
            AstStmtKind::Return(Some(e)) | AstStmtKind::Expr(e) => children_of_expr(e, out),
            AstStmtKind::Print(args) => args.iter().for_each(|a| children_of_expr(a, out)),
            AstStmtKind::Assign { target, value, .. } => {
                match target {
                    AstTarget::Name(_) => {}
                    AstTarget::Index { object, index, .. } => {
                        children_of_expr(object, out);
                        children_of_expr(index, out);
                    }
                    AstTarget::Member { object, .. } => children_of_expr(object, out),
                }
                children_of_expr(value, out);
            }
            AstStmtKind::Block(b) => children_of_stmts(b, out),
            AstStmtKind::StateSet { key, value, .. } => {
                children_of_expr(key, out);
                children_of_expr(value, out);
            }
            AstStmtKind::Verify { cond, message } => {
                children_of_expr(cond, out);
                if let Some(m) = message {
                    children_of_expr(m, out);
                }
            }
            AstStmtKind::Try { body, catch, finally } => {
                children_of_stmts(body, out);
                if let Some(c) = catch {
                    children_of_stmts(&c.body, out);
                }
                if let Some(f) = finally {
                    children_of_stmts(&f.body, out);
                }
            }
            AstStmtKind::Throw { value, .. } => children_of_expr(value, out),
            AstStmtKind::Require { cond, message, .. } => {
                children_of_expr(cond, out);
                if let Some(m) = message {
                    children_of_expr(m, out);
                }
            }
            AstStmtKind::Revert { message: Some(m), .. } => children_of_expr(m, out),
            AstStmtKind::Emit { args, .. } => args.iter().for_each(|a| children_of_expr(a, out)),
            _ => {}
        }
    }
}

fn children_of_expr<'a>(e: &'a AstExpr, out: &mut Vec<&'a AstFunc>) {
    if let AstExprKind::Func(f) = &e.kind {
        out.push(f);
        return;
    }
    for_each_subexpr(e, |sub| children_of_expr(sub, out));
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;

    fn func(src: &str) -> Rc<AstFunc> {
        let (ast, diags) = crate::syntax::parse(src);
        assert!(diags.is_empty(), "{diags:?}");
        match &ast.stmts[0].kind {
            AstStmtKind::Func(f) => f.clone(),
            other => panic!("not a function: {other:?}"),
        }
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn declared_names_are_params_then_first_appearance_through_blocks_but_not_nested_functions() {
        let f = func(
            "action f(a, b) {\n let x = 1\n if a { let y = 2 } else { for each z in b { let x = 3 } }\n\
             while a { { const c = 4 } }\n action g(q) { let inner = 1 }\n}",
        );
        let params: Vec<String> = f.params.iter().map(|p| p.name.clone()).collect();
        let names: Vec<String> = declared_names(&params, &f.body).into_iter().collect();
        assert_eq!(names, ["a", "b", "x", "y", "z", "c", "%const:c", "g"]);
    }

    #[test]
    fn free_names_are_used_but_not_declared_including_those_of_nested_functions() {
        let f = func("action f(a) {\n let local = a + g\n return function() { return local + h }\n}");
        // `let local` stores to `local`, which also refers to its const flag (the documented
        // over-approximation): a `let` name is declared, its flag is not.
        assert_eq!(free_names(&f), set(&["%const:local", "g", "h"]));
    }

    #[test]
    fn a_store_to_a_free_name_also_refers_to_its_const_flag() {
        let f = func("action f() { total = total + 1 }");
        assert_eq!(free_names(&f), set(&["%const:total", "total"]));
    }

    #[test]
    fn captured_by_children_finds_what_nested_functions_use_from_outside() {
        let f = func(
            "action f(a) {\n let n = 0\n let unused = 1\n let inc = function() { n = n + a }\n\
             action show() { print(n) }\n return inc\n}",
        );
        let captured = captured_by_children(&f);
        assert!(captured.contains("n") && captured.contains("a"), "{captured:?}");
        assert!(!captured.contains("unused") && !captured.contains("inc"), "{captured:?}");
    }

    #[test]
    fn children_are_listed_in_source_order_without_grandchildren() {
        let f = func("action f() {\n let a = function() { return function() { return 1 } }\n action b() {}\n}");
        let mut out = Vec::new();
        children_of_stmts(&f.body, &mut out);
        let names: Vec<Option<&str>> = out.iter().map(|c| c.name.as_ref().map(|n| n.name.as_str())).collect();
        assert_eq!(names, [None, Some("b")]);
    }
}
