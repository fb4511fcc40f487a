#!/usr/bin/env python3
"""Where a wasm file's bytes go: per section, per crate and per function.

    python3 scripts/wasm_profile.py [WASM] [--top N]

Reads the code section's function bodies and the name section's function
names (the cargo output before wasm-opt keeps them; the served file, after
wasm-opt, has none, so its code is shown as one lump). A function is charged
to the crate its demangled path starts with (`<T as serde::Serialize>` to
the trait's crate, generic instances to where their code lives). No tool
beyond Python.
"""

import re
import sys
from collections import Counter

DEFAULT = "target/front/wasm32-unknown-unknown/wasm-release/vizora.wasm"
SECTIONS = {
    0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
    6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
    12: "datacount",
}


def leb(b, i):
    """An unsigned LEB128 at b[i]: (value, next index)."""
    v = shift = 0
    while True:
        byte = b[i]
        i += 1
        v |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return v, i


def name(b, i):
    n, i = leb(b, i)
    return b[i:i + n].decode("utf-8", "replace"), i + n


def legacy_demangle(s):
    """`_ZN4core3fmt5write17h…E` to `core::fmt::write`; others as they are."""
    if not s.startswith("_ZN"):
        return s
    i, parts = 3, []
    while i < len(s) and s[i].isdigit():
        j = i
        while s[j].isdigit():
            j += 1
        n = int(s[i:j])
        part = s[j:j + n]
        i = j + n
        if re.fullmatch(r"h[0-9a-f]{16}", part):
            break
        parts.append(part.replace("$LT$", "<").replace("$GT$", ">")
                     .replace("$u20$", " ").replace("..", "::").replace("$C$", ","))
    return "::".join(parts) if parts else s


ESCAPES = {"$RF$": "&", "$LP$": "(", "$RP$": ")", "$LT$": "<", "$GT$": ">", "$BP$": "*",
           "$u20$": " ", "$u7b$": "{", "$u7d$": "}", "$u5b$": "[", "$u5d$": "]", "$C$": ",",
           "$u27$": "'", "$u3b$": ";", "$u2b$": "+", "$u22$": '"', "..": "::"}


def unescape(fn):
    """Legacy symbol escapes (`$RF$mut`, `$LP$A,B$RP$`) as Rust writes them."""
    if fn.startswith("_<") or fn.startswith("_$"):
        fn = fn[1:]
    for k, v in ESCAPES.items():
        fn = fn.replace(k, v)
    return fn


def crate_of(fn):
    fn = unescape(legacy_demangle(fn))
    m = re.match(r"<(.*?) as ([A-Za-z_][A-Za-z0-9_]*)::", fn)
    if m:
        # `<Type as trait::Trait>`: the type's crate when it names one
        # (an impl for our type is our code), else the trait's.
        ty = re.match(r"(?:&(?:mut )?)?([a-z_][a-z0-9_]*)::", m.group(1))
        return ty.group(1) if ty else m.group(2)
    m = re.match(r"<?(?:&(?:mut )?)?([A-Za-z_][A-Za-z0-9_]*)::", fn)
    if m:
        return m.group(1)
    if fn.startswith("__wbg") or fn.startswith("__wbindgen") or fn.startswith("wasm_bindgen"):
        return "wasm_bindgen"
    return "(other: " + fn.split("(")[0][:30] + ")" if fn else "(unnamed)"


def profile(path):
    b = open(path, "rb").read()
    assert b[:4] == b"\0asm", f"{path} is not a wasm file"
    i = 8
    sections = Counter()
    bodies = []
    imported = 0
    names = {}
    while i < len(b):
        sid = b[i]
        size, j = leb(b, i + 1)
        end = j + size
        label = SECTIONS.get(sid, str(sid))
        if sid == 0:
            cname, k = name(b, j)
            label = "custom " + cname
            if cname == "name":
                while k < end:
                    sub, k2 = b[k], k + 1
                    sub_size, k2 = leb(b, k2)
                    if sub == 1:
                        count, m = leb(b, k2)
                        for _ in range(count):
                            idx, m = leb(b, m)
                            fname, m = name(b, m)
                            names[idx] = fname
                    k = k2 + sub_size
        elif sid == 2:
            count, k = leb(b, j)
            for _ in range(count):
                _, k = name(b, k)
                _, k = name(b, k)
                kind = b[k]
                k += 1
                if kind == 0:
                    _, k = leb(b, k)
                    imported += 1
                elif kind == 1:
                    k += 1
                    flags, k = leb(b, k)
                    _, k = leb(b, k)
                    if flags & 1:
                        _, k = leb(b, k)
                elif kind == 2:
                    flags, k = leb(b, k)
                    _, k = leb(b, k)
                    if flags & 1:
                        _, k = leb(b, k)
                elif kind == 3:
                    k += 2
        elif sid == 10:
            count, k = leb(b, j)
            for n in range(count):
                body, k2 = leb(b, k)
                bodies.append((imported + n, k2 - k + body))
                k = k2 + body
        sections[label] += end - i
        i = end
    return len(b), sections, bodies, names


def main():
    import argparse
    ap = argparse.ArgumentParser(description="Where a wasm file's bytes go.")
    ap.add_argument("wasm", nargs="?", default=DEFAULT)
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    path, top = a.wasm, a.top
    total, sections, bodies, names = profile(path)
    print(f"{path}: {total:,} bytes")
    print("\nby section")
    for label, n in sections.most_common():
        print(f"  {n:>10,}  {100 * n / total:5.1f}%  {label}")
    if not names:
        print("\n(no name section: run this on the cargo output before wasm-opt)")
        return
    code = sum(n for _, n in bodies)
    crates = Counter()
    fns = Counter()
    for idx, n in bodies:
        fn = unescape(legacy_demangle(names.get(idx, f"func[{idx}]")))
        crates[crate_of(fn)] += n
        fns[re.sub(r"::h[0-9a-f]{16}$", "", fn)] += n
    print(f"\ncode by crate ({code:,} bytes of function bodies)")
    for c, n in crates.most_common(top):
        print(f"  {n:>10,}  {100 * n / code:5.1f}%  {c}")
    print(f"\nlargest functions (same name summed)")
    for f, n in fns.most_common(top):
        print(f"  {n:>10,}  {f[:150]}")


if __name__ == "__main__":
    main()
