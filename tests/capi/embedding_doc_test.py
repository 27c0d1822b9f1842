#!/usr/bin/env python3
"""Runs the shell blocks of docs/EMBEDDING.md that are marked as tested, as written.

A marked block is a ```sh fence right after the line
    <!-- run by the test capi_embedding_doc ... -->
Each runs under `bash -eo pipefail` in a fresh directory that looks like the repository's
root with its build directory at `build`: `examples` and `schema` link to the source tree,
`build` to this test's build tree. Every command must succeed; a line the block says
prints a value is checked by the block itself (grep/wc), and a bounded timeout applies.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

MARKER = "<!-- run by the test capi_embedding_doc"


def marked_blocks(text):
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith(MARKER) and i + 1 < len(lines) and lines[i + 1] == "```sh":
            j = i + 2
            while j < len(lines) and lines[j] != "```":
                j += 1
            blocks.append("\n".join(lines[i + 2:j]))
            i = j
        i += 1
    return blocks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--doc", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--build", required=True)
    args = ap.parse_args()
    blocks = marked_blocks(open(args.doc, encoding="utf-8").read())
    if not blocks:
        print("no marked block in " + args.doc)
        return 1
    with tempfile.TemporaryDirectory() as root:
        for name in ("examples", "schema"):
            os.symlink(os.path.join(args.source, name), os.path.join(root, name))
        os.symlink(args.build, os.path.join(root, "build"))
        for n, block in enumerate(blocks, 1):
            print("--- block %d, in a root whose build is %s:\n%s" % (n, args.build, block))
            r = subprocess.run(["bash", "-eo", "pipefail", "-c", block], cwd=root,
                               capture_output=True, text=True, timeout=600)
            sys.stdout.write(r.stdout[-4000:])
            sys.stderr.write(r.stderr[-4000:])
            if r.returncode != 0:
                print("block %d failed with exit %d" % (n, r.returncode))
                return 1
            # The block's last command prints the count of exports that are not lb_*.
            last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
            if re.search(r"\bnm -D\b", block) and last.strip() != "0":
                print("exports other than lb_*: " + last)
                return 1
    print("%d block(s) ran as written" % len(blocks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
