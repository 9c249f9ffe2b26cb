#!/usr/bin/env python3
"""MSRV check: no locked dependency may need a newer Rust than the crate declares.

For every workspace member that declares `rust-version`, walks the resolved
dependency graph of `Cargo.lock` (`cargo metadata --locked`, every feature on, every
kind of dependency: normal, build and dev for the member itself) and fails when a
reachable package's `rust_version` is newer than the member's. Also fails when a
member that depends on `ssewire` declares an older Rust than `ssewire` itself.

Usage: python3 .ci/check_msrv.py [--print]   (--print: the needed version per member)
"""
import json
import subprocess
import sys


def version(text):
    parts = [int(p) for p in (text or "0").split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def show(v):
    return ".".join(map(str, v[:2] if v[2] == 0 else v))


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked", "--all-features"],
            check=True,
            stdout=subprocess.PIPE,
        ).stdout
    )
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}

    def closure(root):
        """Packages `root` needs: all its own deps, then normal + build deps onward."""
        seen, stack = {}, []
        for dep in nodes[root]["deps"]:
            stack.append((dep["pkg"], root))
        while stack:
            pkg, via = stack.pop()
            if pkg in seen:
                continue
            seen[pkg] = via
            for dep in nodes[pkg]["deps"]:
                kinds = {k["kind"] for k in dep["dep_kinds"]}
                if kinds & {None, "build"}:
                    stack.append((dep["pkg"], pkg))
        return seen

    failures, report = [], []
    members = [packages[m] for m in meta["workspace_members"]]
    declared_lib = next(
        (version(p["rust_version"]) for p in members if p["name"] == "ssewire"), None
    )
    for member in members:
        declared = member.get("rust_version")
        if not declared:
            failures.append(f"{member['name']}: no rust-version declared")
            continue
        declared = version(declared)
        needed, needer = (0, 0, 0), None
        for pkg_id, via in closure(member["id"]).items():
            pkg = packages[pkg_id]
            want = version(pkg.get("rust_version"))
            if want > needed:
                needed, needer = want, pkg
            if want > declared:
                failures.append(
                    f"{member['name']} declares rust-version {show(declared)}, but "
                    f"{pkg['name']} {pkg['version']} (via {packages[via]['name']}) "
                    f"needs {show(want)}"
                )
        if declared_lib and member["name"] != "ssewire" and declared < declared_lib:
            failures.append(
                f"{member['name']} declares {show(declared)}, older than ssewire's "
                f"{show(declared_lib)}"
            )
        report.append(
            f"{member['name']}: declares {show(declared)}, dependencies need "
            f"{show(needed)}" + (f" ({needer['name']} {needer['version']})" if needer else "")
        )
    if "--print" in sys.argv or failures:
        print("\n".join(report))
    if failures:
        print("\nMSRV check failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)
    print("MSRV check: every locked dependency fits the declared rust-version")


if __name__ == "__main__":
    main()
