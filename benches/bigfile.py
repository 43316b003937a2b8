#!/usr/bin/env python3
"""Write a large Zexus program for the memory-per-line and open-time measurements (issue 13, M8).

    python3 benches/bigfile.py --lines 100000 --kind mix > /tmp/big_mix.zx
    python3 benches/bigfile.py --lines 100000 --kind flat > /tmp/big_flat.zx

`flat` is the earlier measurement's program: one `total = total + 1 // padding ...` per line.
`mix` is a realistic mix: blocks of 20 lines, each an action with lets, a while loop and a
call, with a print at the end of the block, so that the program has many functions, loops,
lets and prints. Both print a small, checkable result.
"""
import argparse
import sys


def flat(lines):
    out = ["let total = 0"]
    while len(out) < lines - 1:
        out.append("total = total + 1 // padding comment to make the line longer")
    out.append("print(total)")
    return out


def mix(lines):
    out = ["let total = 0"]
    k = 0
    while len(out) + 20 < lines:
        out += [
            f"action f{k}(n) {{",
            "  let acc = 0",
            "  let i = 0",
            "  while i < n {",
            "    acc = acc + i * 2",
            "    i = i + 1",
            "  }",
            "  let label = \"block\"",
            "  if acc > 10 {",
            "    acc = acc - 1",
            "  } else {",
            "    acc = acc + 1",
            "  }",
            "  return acc",
            "}",
            f"let r{k} = f{k}(3)",
            f"total = total + r{k}",
            "let xs = [1, 2, 3]",
            f"if total % 1000 == 0 {{ print(\"at \" + {k}) }}",
            "total = total + len(xs)",
        ]
        k += 1
    while len(out) < lines - 1:
        out.append("total = total + 1")
    out.append("print(total)")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100000)
    ap.add_argument("--kind", choices=["flat", "mix"], default="mix")
    a = ap.parse_args()
    body = flat(a.lines) if a.kind == "flat" else mix(a.lines)
    sys.stdout.write("\n".join(body) + "\n")


if __name__ == "__main__":
    main()
