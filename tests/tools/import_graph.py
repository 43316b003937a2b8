#!/usr/bin/env python3
"""The file-level import graph of src/ and its cycles.

An edge a.rs -> b.rs means a.rs names an item of b.rs through a `use crate::...`, `use super::...`
or `use self::...` line, or (with --paths) through an inline `crate::...`/`super::...` path.
Code inside `#[cfg(test)]` items is left out (kept with --with-tests), and so are `mod x;` declarations (a parent
declaring its children is not an import). Prints every cycle (strongly connected components of
more than one file, and the shortest cycle inside each) and exits 1 when there is one.

    python3 tests/tools/import_graph.py [--paths] [--with-tests] [--edges] [SRC_DIR]
"""
import os
import re
import sys


def module_of(path, src):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel


def file_of(mod, src):
    """The file that defines module `mod` (a list of names), or None."""
    if not mod:
        return os.path.join(src, "lib.rs")
    base = os.path.join(src, *mod)
    for cand in (base + ".rs", os.path.join(base, "mod.rs")):
        if os.path.isfile(cand):
            return cand
    return None


def strip_tests(text, keep_tests=False):
    """The text without comments, strings and (unless `keep_tests`) `#[cfg(test)]` items."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    if keep_tests:
        return text
    out = []
    i = 0
    while True:
        at = text.find("#[cfg(test)]", i)
        if at < 0:
            out.append(text[i:])
            break
        out.append(text[i:at])
        j = at + len("#[cfg(test)]")
        # The item runs to its first `;` at depth 0 or to the brace that closes its body.
        depth = 0
        while j < len(text):
            c = text[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    j += 1
                    break
            elif c == ";" and depth == 0:
                j += 1
                break
            j += 1
        i = j
    return "".join(out)


def expand(tree):
    """`a::{b, c::{d, e}}` -> [[a, b], [a, c, d], [a, c, e]] (names only)."""
    tree = tree.strip()
    m = re.match(r"^([\w:]*?)(?:::)?\{(.*)\}$", tree, re.S)
    if not m:
        return [[p for p in re.sub(r"\s+as\s+\w+$", "", tree).split("::") if p]]
    head = [p for p in m.group(1).split("::") if p]
    parts, depth, cur = [], 0, ""
    for c in m.group(2):
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += c == "{"
        depth -= c == "}"
        cur += c
    parts.append(cur)
    res = []
    for p in parts:
        if p.strip():
            res += [head + sub for sub in expand(p)]
    return res


def resolve(path_parts, here, src):
    """The file a path names (the longest module prefix), relative to module `here`."""
    parts = list(path_parts)
    if not parts:
        return None
    if parts[0] == "crate":
        base, parts = [], parts[1:]
    elif parts[0] in ("super", "self"):
        base = list(here)
        while parts and parts[0] in ("super", "self"):
            if parts[0] == "super":
                base = base[:-1]
            parts = parts[1:]
    else:
        return None
    for n in range(len(parts), -1, -1):
        f = file_of(base + parts[:n], src)
        if f:
            return f
    return None


def graph(src, inline_paths, keep_tests):
    files = []
    for root, _, names in os.walk(src):
        files += [os.path.join(root, n) for n in names if n.endswith(".rs")]
    edges = {}
    for f in sorted(files):
        here = module_of(f, src)
        # A `mod.rs` (or `foo.rs` with children) resolves `self::` from its own module.
        text = strip_tests(open(f, encoding="utf-8").read(), keep_tests)
        targets = set()
        for m in re.finditer(r"\buse\s+((?:crate|super|self)\b[^;]*);", text):
            for p in expand(m.group(1)):
                t = resolve(p, here, src)
                if t:
                    targets.add(t)
        if inline_paths:
            for m in re.finditer(r"(?<![\w:])((?:crate|super)(?:::\w+)+)", text):
                t = resolve(m.group(1).split("::"), here, src)
                if t:
                    targets.add(t)
        targets.discard(f)
        edges[f] = targets
    return edges


def sccs(edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in list(edges):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def shortest_cycle(comp, edges):
    members = set(comp)
    best = None
    for start in sorted(comp):
        prev, frontier = {start: None}, [start]
        found = None
        while frontier and not found:
            nxt = []
            for v in frontier:
                for w in sorted(edges[v] & members):
                    if w == start:
                        found = v
                        break
                    if w not in prev:
                        prev[w] = v
                        nxt.append(w)
                if found:
                    break
            frontier = nxt
        if found:
            path = [found]
            while prev[path[-1]] is not None:
                path.append(prev[path[-1]])
            path.reverse()
            if best is None or len(path) < len(best):
                best = path
    return best


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    src = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "..", "src")
    src = os.path.normpath(src)
    edges = graph(src, "--paths" in sys.argv, "--with-tests" in sys.argv)
    rel = lambda f: os.path.relpath(f, src)
    if "--edges" in sys.argv:
        for f in sorted(edges):
            for t in sorted(edges[f]):
                print(f"{rel(f)} -> {rel(t)}")
    comps = sccs(edges)
    n_edges = sum(len(t) for t in edges.values())
    print(f"{len(edges)} files, {n_edges} import edges, {len(comps)} cycle(s)")
    for comp in sorted(comps, key=len):
        cyc = shortest_cycle(comp, edges)
        print(f"cycle among {len(comp)} files: {', '.join(sorted(rel(c) for c in comp))}")
        print("  e.g. " + " -> ".join(rel(c) for c in cyc + cyc[:1]))
    return 1 if comps else 0


if __name__ == "__main__":
    sys.exit(main())
