#!/usr/bin/env python3
"""Writes a large Zexus program for the memory and open-time measurements (BENCHMARKS.md,
"Issue 13 (M8)").

    python3 benches/bigfile.py KIND LINES > big.zx

KIND is `flat` (one statement per line: `total = total + 1` and a padding comment, the
program of the first M8 measurement) or `mix` (a realistic mix: functions with loops, lets,
ifs, prints, lists and maps, called from the top level). Both run quickly and print a
little, so `run` measures the build, not the program.
"""

import sys


def flat(lines):
    out = ["let total = 0;"]
    while len(out) < lines - 1:
        out.append("total = total + 1 // padding comment to make the line longer")
    out.append("print(total);")
    return out


def mix(lines):
    out = ["let acc = 0;", "let names = [];"]
    n = 0
    while True:
        n += 1
        block = [
            f"// block {n}: a function, a loop over it, a map and a print",
            f"action f{n}(a, b) {{",
            f"  let s = a * {n % 97} + b;",
            "  let i = 0;",
            "  while (i < 3) {",
            "    if (s % 2 == 0) { s = s / 2; } else { s = s * 3 + 1; }",
            "    i = i + 1;",
            "  }",
            "  return s;",
            "}",
            f'let m{n} = {{"id": {n}, "name": "item{n}", "tags": [1, 2, 3]}};',
            f"acc = (acc + f{n}(m{n}[\"id\"], len(m{n}[\"tags\"]))) % 1000003;",
            f'if ({n} % 1000 == 0) {{ print("at", {n}, acc); }}',
        ]
        if len(out) + len(block) > lines - 1:
            break
        out += block
    while len(out) < lines - 1:
        out.append("acc = acc + 1;")
    out.append('print("acc", acc);')
    return out


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("flat", "mix"):
        sys.exit(__doc__)
    lines = int(sys.argv[2])
    text = "\n".join(flat(lines) if sys.argv[1] == "flat" else mix(lines)) + "\n"
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
