#!/usr/bin/env python3
"""Runs an example program and compares its whole output with the expected
text. In a cross build meson names the emulator (qemu-user, wine) in
MESON_EXE_WRAPPER, and the program runs under it."""
import os
import shlex
import subprocess
import sys

program, expected_file = sys.argv[1], sys.argv[2]
command = shlex.split(os.environ.get("MESON_EXE_WRAPPER", "")) + [program]
run = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
output = run.stdout.decode().replace("\r\n", "\n")
with open(expected_file, encoding="utf-8") as f:
    expected = f.read()
if run.returncode != 0 or output != expected:
    sys.stderr.write(run.stderr.decode())
    sys.stderr.write("exit status %d\n--- expected\n%s--- got\n%s" % (run.returncode, expected, output))
    sys.exit(1)
print(output, end="")
