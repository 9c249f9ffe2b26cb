#!/usr/bin/env python3
"""Layout checks that cargo cannot make itself.

1. Every `tests/*.rs` is a `[[test]]` of tests/Cargo.toml and every `examples/*.rs` an
   `[[example]]` of examples/Cargo.toml (those packages turn auto-discovery off, so an
   unregistered file would silently never be built or run), and every registered path
   exists.
2. Nothing the repository builds or runs reads files outside the repository (the
   project's `shared/` folder beside the checkout is not part of a clone).

Usage: python3 .ci/check_layout.py   (from anywhere; exits 1 with the list of problems)
"""
import pathlib
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
problems = []


def registered(manifest, table):
    data = tomllib.loads((ROOT / manifest).read_text())
    base = (ROOT / manifest).parent
    paths = set()
    for target in data.get(table, []):
        path = (base / target.get("path", f"{target['name']}.rs")).resolve()
        if not path.is_file():
            problems.append(f"{manifest}: [[{table}]] {target['name']}: {path} does not exist")
        paths.add(path)
    return paths


for folder, manifest, table in [
    ("tests", "tests/Cargo.toml", "test"),
    ("examples", "examples/Cargo.toml", "example"),
]:
    listed = registered(manifest, table)
    for file in sorted((ROOT / folder).glob("*.rs")):
        if file.resolve() not in listed:
            problems.append(
                f"{file.relative_to(ROOT)} is not built: add\n\n    [[{table}]]\n"
                f'    name = "{file.stem}"\n    path = "{file.name}"\n\n  to {manifest}'
            )

outside = "../" + "shared"  # spelled so that this file does not match itself
for folder in ["src", "tests", "examples", "benches", "fuzz", ".ci"]:
    for file in sorted((ROOT / folder).rglob("*")):
        if not file.is_file() or "node_modules" in file.parts or file.suffix not in {
            ".rs", ".toml", ".mjs", ".js", ".py", ".sh", ""
        }:
            continue
        try:
            text = file.read_text()
        except UnicodeDecodeError:
            continue
        if outside in text:
            problems.append(f"{file.relative_to(ROOT)} reads {outside}/ (not in a clone)")

if problems:
    print("layout check failed:\n  " + "\n  ".join(problems), file=sys.stderr)
    sys.exit(1)
print("layout check: every test and example is registered; nothing reads outside the repository")
