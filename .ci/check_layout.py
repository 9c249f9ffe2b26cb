#!/usr/bin/env python3
"""Layout checks that cargo cannot make itself.

1. Every `tests/*.rs` is a `[[test]]` of tests/Cargo.toml and every `examples/*.rs` an
   `[[example]]` of examples/Cargo.toml (those packages turn auto-discovery off, so an
   unregistered file would silently never be built or run), and every registered path
   exists.
2. Nothing the repository builds or runs reads files outside the repository (the
   project's `shared/` folder beside the checkout is not part of a clone).
3. tests/ssewire-all/Cargo.toml (the library as the integration tests build it, so that
   their features stay out of `cargo run --example demo`) has the root Cargo.toml's
   [features] and [dependencies], and builds the root's src/lib.rs.

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

root_manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
all_manifest = tomllib.loads((ROOT / "tests/ssewire-all/Cargo.toml").read_text())
for table in ["features", "dependencies"]:
    if root_manifest.get(table) != all_manifest.get(table):
        problems.append(
            f"tests/ssewire-all/Cargo.toml: [{table}] differs from the root Cargo.toml's "
            "(copy it over: the integration tests must build the library as published)"
        )
if (ROOT / "tests/ssewire-all" / all_manifest.get("lib", {}).get("path", "")).resolve() != (
    ROOT / "src/lib.rs"
).resolve():
    problems.append("tests/ssewire-all/Cargo.toml: [lib] path must be ../../src/lib.rs")

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
print(
    "layout check: every test and example is registered; nothing reads outside the "
    "repository; tests/ssewire-all matches the root manifest"
)
