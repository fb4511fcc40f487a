#!/usr/bin/env python3
"""The server's import direction, checked (`make lint`).

    config  <-  core  <-  auth  <-  library  <-  devices  <-  schedules  <-  analytics  <-  displays  <-  health  <-  composition

`src/server/` is a core plus one folder per domain. A file may name its own
folder and any layer below its own, never one above: `core/` names no domain,
`library/` cannot reach `displays/`. The composition files at the top
(changes, router, tasks, state, orgs, cli, listen, headers, compress, mod, tools/) may name everything,
but not each other in a cycle. Tests (`server/tests/`, `#[cfg(test)]` modules)
are not checked. New domains (analytics) get a place in LAYERS.

Usage: scripts/layers.py [SRC_SERVER_DIR]   (default: src/server)
       scripts/layers.py --self-test         (plants a back-import and a cycle,
                                              and checks that both are caught)
"""

import os
import re
import shutil
import sys
import tempfile

# Lower layers first; a unit may import units of lower layers only.
LAYERS = [
    {"config"},
    {"core"},
    {"auth"},
    {"library"},
    {"devices"},
    {"schedules"},
    {"analytics"},
    {"displays"},
    {"health"},
    {"changes", "router", "tasks", "state", "orgs", "cli", "listen", "headers", "compress", "tools", "mod"},
]
UNCHECKED = {"tests"}


def layer_of(unit):
    for i, units in enumerate(LAYERS):
        if unit in units:
            return i
    return None


def strip_code(text):
    """Drops comments, string and char literals, and `#[cfg(test)]` modules."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == '"' or (c == "r" and re.match(r'r#*"', text[i:i + 4]) and not text[i - 1:i].isalnum()):
            if c == "r":
                hashes = re.match(r"r(#*)\"", text[i:]).group(1)
                end = '"' + hashes
                j = text.find(end, i + 2 + len(hashes))
                i = n if j < 0 else j + len(end)
            else:
                j = i + 1
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                i = j + 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]):
            i += len(re.match(r"'(\\.|[^\\'])'", text[i:]).group(0))
        else:
            out.append(c)
            i += 1
    code = "".join(out)
    # Test modules may reach anything they test.
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", code)
        if not m:
            return code
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        code = code[:m.start()] + code[j:]


def module_path(rel):
    """`displays/socket.rs` -> ['displays', 'socket']; `displays/mod.rs` -> ['displays']."""
    parts = rel[:-3].split("/")
    if parts[-1] == "mod":
        parts = parts[:-1]
    return parts


def expand_use(tree):
    """Every path a use tree names: `crate::{a::b, c::{d, e}}` -> crate::a::b, crate::c::d, …"""
    tokens = re.findall(r"\w+|::|[{},*]", tree)
    pos = 0

    def parse(prefix):
        nonlocal pos
        path = list(prefix)
        while pos < len(tokens):
            t = tokens[pos]
            if t == "::":
                pos += 1
            elif t == "{":
                pos += 1
                out = []
                while pos < len(tokens) and tokens[pos] != "}":
                    if tokens[pos] == ",":
                        pos += 1
                        continue
                    out += parse(path)
                pos += 1
                return out
            elif t in ",}":
                break
            elif t == "as":
                pos += 2  # the alias
            elif t == "*":
                pos += 1
            else:
                path.append(t)
                pos += 1
        return [path]

    return parse([])


def references(code, mod_path, children):
    """Module paths (under server) that `code` names: in `use` trees and in
    paths in the code, absolute (`crate::server::x`) or relative (`super::x`,
    and, in the server root, its child modules by name)."""
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        paths += expand_use(m.group(1))
    without_uses = re.sub(r"\buse\s+[^;]+;", "", code)
    for m in re.finditer(r"(?<![\w:])((?:\w+\s*::\s*)+\w+)", without_uses):
        paths.append(re.split(r"\s*::\s*", m.group(1)))
    refs = []
    for p in paths:
        if p[:2] == ["crate", "server"] and len(p) > 2:
            refs.append(p[2:])
        elif p and p[0] == "super":
            ups = 0
            while ups < len(p) and p[ups] == "super":
                ups += 1
            if ups > len(mod_path):
                continue  # above `server`: outside what is checked
            rest = p[ups:]
            if rest:
                refs.append(mod_path[: len(mod_path) - ups] + rest[:1])
        elif not mod_path and p and p[0] in children:
            refs.append(p[:1])
    return refs


def unit_of(path):
    """The unit a server module path belongs to: its folder, or the top-level file."""
    return path[0] if path else "mod"


def check(root):
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(".rs"):
                full = os.path.join(dirpath, name)
                files[os.path.relpath(full, root).replace(os.sep, "/")] = full
    children = {module_path(rel)[0] for rel in files if module_path(rel)}
    problems = []
    edges = {}
    for rel, full in sorted(files.items()):
        path = module_path(rel)
        unit = unit_of(path)
        if unit in UNCHECKED:
            continue
        mine = layer_of(unit)
        if mine is None:
            problems.append(f"{rel}: folder '{unit}' has no place in the layers (add it to LAYERS in scripts/layers.py)")
            continue
        with open(full, encoding="utf-8") as f:
            code = strip_code(f.read())
        for ref in references(code, path, children):
            # A name that is not a child module is an item of the server root.
            target = ref[0] if ref[0] in children else "mod"
            if target == unit or target in UNCHECKED:
                continue
            theirs = layer_of(target)
            if theirs is None:
                continue
            edges.setdefault(unit, set()).add(target)
            if theirs > mine or (theirs == mine and mine < len(LAYERS) - 1):
                problems.append(f"{rel}: imports {'::'.join(ref)} ({target} is not below {unit})")
    # Cycles among the units (the composition files may name each other, in one direction).
    state, stack = {}, []

    def visit(u):
        state[u] = "open"
        stack.append(u)
        for v in sorted(edges.get(u, ())):
            if state.get(v) == "open":
                problems.append("cycle: " + " -> ".join(stack[stack.index(v):] + [v]))
            elif v not in state:
                visit(v)
        stack.pop()
        state[u] = "done"

    for u in sorted(edges):
        if u not in state:
            visit(u)
    return problems, edges


def report(root):
    problems, edges = check(root)
    order = [u for layer in LAYERS for u in sorted(layer)]
    print("server layers (each names only those to its left):")
    for i, layer in enumerate(LAYERS):
        print(f"  {i}: {' '.join(sorted(layer))}")
    for u in order:
        if u in edges:
            print(f"  {u} -> {' '.join(sorted(edges[u], key=order.index))}")
    if problems:
        print(f"\n{len(problems)} import(s) against the direction:")
        for p in problems:
            print("  " + p)
        return 1
    print("\nok: every import goes one way, no cycles")
    return 0


def self_test():
    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.join(here, "..", "src", "server")
    ok = True
    for name, rel, line in [
        ("back-import", "core/log.rs", "use crate::server::displays::Gateway;\n"),
        ("relative back-import", "library/content.rs", "use super::super::health::alerts;\n"),
        ("cycle", "orgs.rs", "use super::router::router;\n"),
    ]:
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "server")
            shutil.copytree(src, copy)
            if name == "cycle":
                with open(os.path.join(copy, "router.rs"), "a", encoding="utf-8") as f:
                    f.write("\nuse super::orgs::find;\n")
            with open(os.path.join(copy, rel), "a", encoding="utf-8") as f:
                f.write("\n" + line)
            problems, _ = check(copy)
            caught = bool(problems)
            print(f"self-test, a planted {name} in {rel}: {'caught' if caught else 'MISSED'}"
                  + (f" ({problems[0]})" if caught else ""))
            ok &= caught
    problems, _ = check(src)
    print(f"self-test, the tree as it is: {'clean' if not problems else 'NOT clean'}")
    return 0 if ok and not problems else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    sys.exit(report(sys.argv[1] if len(sys.argv) > 1 else "src/server"))
