#!/usr/bin/env python3
"""The gdb extension (gdb/libcoro-gdb.py) on tests/gdb_coroutines.c: in a
live process stopped in gdb_stop_here(), on a core file that gcore wrote
there, and on one the kernel wrote when the program aborted there (where
the kernel writes core files to a plain path).

gcore reads the process's memory in pieces of up to 1 MiB and leaves out a
piece it cannot read whole; a piece holding a guard marker (Linux 6.13's
MADV_GUARD_INSTALL, what libcoro's stacks use there) is such a piece, so
gcore's core file lacks the stacks carved from the same slab. The gcore
session therefore runs the program with LIBCORO_GUARD=mprotect; the
kernel's own dump reads page by page and keeps every stack, markers or not.

  test_gdb.py PROGRAM EXTENSION SOURCE [--qemu QEMU SYSROOT]

With --qemu (for example --qemu qemu-aarch64 /usr/aarch64-linux-gnu), the
program runs under that qemu-user's gdb stub and gdb-multiarch debugs it
there; a core file is then not tried (qemu-user's stub cannot write one).

Checks `info coroutines` (name, status, thread, waiting place of each),
`coroutine N bt` and `coroutine apply all bt` (the frames down to the entry
function and on into the resumer), and `coroutine N` with frame/up/info
args on the selected coroutine. Exit status 0 when everything holds, 77
(skipped) without gdb, 1 otherwise."""

import ast
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

program, extension, source = sys.argv[1:4]
qemu = sys.argv[5:7] if len(sys.argv) >= 7 and sys.argv[4] == "--qemu" else None
failures = []


def check(condition, what, text=""):
    if not condition:
        failures.append(what)
        print("FAIL: " + what)
        if text:
            print("    " + text.replace("\n", "\n    "))


# Lines the program marks with "/* WAIT: name */".
marks = {}
with open(source) as f:
    for number, line in enumerate(f, 1):
        match = re.search(r"/\* WAIT: ([\w-]+) \*/", line)
        if match:
            marks[match.group(1)] = number
source_name = os.path.basename(source)

EXPECTED = {
    # name: (status, thread, waiting place or None, frames in order)
    "fresh": ("suspended", "-", "not started: fresh_entry", None),
    "sleeper": ("suspended", "-", "sleeper_wait at .*%s:%d" % (source_name, marks["sleeper"]),
                ["sleeper_wait", "sleeper_entry", "coro_arch_trampoline"]),
    "finished": ("dead", "-", r"\(returned\)", None),
    "stopped": ("dead,cancelled", "-", r"\(returned\)", None),
    "handoff": ("running", "1", r"\(running\)",
                ["gdb_stop_here", "handoff_entry", "coro_arch_trampoline",
                 "outer_entry", "coro_arch_trampoline", "run_all", "main"]),
    "inner": ("suspended", "-", "inner_entry at .*%s:%d" % (source_name, marks["inner"]),
              ["inner_entry", "coro_arch_trampoline"]),
    "outer": ("normal", "-", "outer_entry at .*%s:%d" % (source_name, marks["outer"]),
              ["outer_entry", "coro_arch_trampoline", "run_all", "main"]),
    "remote-sleeper": ("suspended", "-", "remote_wait at .*%s:%d" % (source_name, marks["remote-sleeper"]),
                       ["remote_wait", "remote_sleeper_entry", "coro_arch_trampoline"]),
    "remote-runner": ("running", "2", r"\(running\)",
                      ["remote_block", "remote_runner_entry", "coro_arch_trampoline", "remote_thread"]),
}
# Frames after these end a walk that is complete: nothing may follow but a
# zero return address.
LAST = {"sleeper": "coro_arch_trampoline", "inner": "coro_arch_trampoline",
        "remote-sleeper": "coro_arch_trampoline", "outer": "main", "handoff": "main"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gdb(target_args, commands):
    """Runs one gdb session; with --qemu, on the program started under
    qemu's gdb stub ("run" then means: continue from its first
    instruction)."""
    stub = None
    prelude = []
    if qemu is not None:
        port = free_port()
        stub = subprocess.Popen([qemu[0], "-L", qemu[1], "-g", str(port), program],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        prelude = ["set sysroot " + qemu[1], "target remote :%d" % port]
        commands = ["continue" if c == "run" else c for c in commands]
        target_args = [program]
    argv = ["gdb-multiarch" if qemu else "gdb", "-nx", "-batch", "-ex", "set debuginfod enabled off",
            "-ex", "set pagination off", "-ex", "set confirm off"]
    for command in prelude:
        argv += ["-ex", command]
    argv += ["-ex", "source " + extension]
    for command in commands:
        argv += ["-ex", "echo @@@ " + command + "\\n", "-ex", command]
    argv += target_args
    try:
        result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240)
    finally:
        if stub is not None:
            try:
                stub.wait(timeout=10)
            except subprocess.TimeoutExpired:
                stub.kill()
                stub.wait()
    # The output of each command, by command.
    outputs = {}
    current = None
    for line in result.stdout.splitlines():
        if line.startswith("@@@ "):
            current = line[4:]
            outputs[current] = []
        elif current is not None:
            outputs[current].append(line)
    return {command: "\n".join(lines) for command, lines in outputs.items()}, result.stdout


def parse_table(text):
    """name -> (number, status, thread, where) from `info coroutines`."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r'^\*?\s*(\d+)\s+"([^"]*)"\s+([\w,]+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s+(.*)$', line)
        if match:
            rows[match.group(2)] = (int(match.group(1)), match.group(3), match.group(4), match.group(5))
    return rows


# libcoro's own frames above the place a context waits, which an
# unoptimised build keeps (the switch is no tail call there): the extension's
# own list, read from its source so that the two cannot drift apart.
def library_functions(extension_path):
    with open(extension_path, encoding="utf-8") as source_file:
        tree = ast.parse(source_file.read(), extension_path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "LIBRARY_FUNCTIONS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit("test_gdb: no LIBRARY_FUNCTIONS in " + extension_path)


LIBRARY_FRAMES = library_functions(extension)


def frame_functions(text):
    """The functions of a backtrace, without the libcoro frames that an
    unoptimised build has between a waiting place and the switch."""
    functions = []
    for line in text.splitlines():
        match = re.match(r"#\d+\s+(?:0x[0-9a-f]+ in )?(\S+) \(", line)
        if match:
            functions.append(match.group(1))
    return [f for f in functions if f not in LIBRARY_FRAMES and f not in ABORT_FRAMES]


# What abort() adds above gdb_stop_here in the kernel's core file.
ABORT_FRAMES = {"__pthread_kill_implementation", "__pthread_kill_internal", "pthread_kill", "__GI_raise",
                "raise", "__GI_abort", "abort"}


def in_order(functions, expected):
    i = 0
    for f in functions:
        if i < len(expected) and f == expected[i]:
            i += 1
    return i == len(expected)


def check_session(label, outputs, rows, crashed=False):
    table = outputs["info coroutines"]
    check(set(rows) == set(EXPECTED), "%s: info coroutines lists exactly the live coroutines" % label, table)
    for name, (status, thread, where, frames) in EXPECTED.items():
        if name not in rows:
            continue
        number, got_status, got_thread, got_where = rows[name]
        check(got_status == status, "%s: %s is %s" % (label, name, status), table)
        check(got_thread == thread, "%s: %s runs on thread %s" % (label, name, thread), table)
        check(re.match(where, got_where) is not None, "%s: %s waits at %s" % (label, name, where), table)

    everything = outputs["coroutine apply all bt"]
    for name, (status, thread, where, frames) in EXPECTED.items():
        if name not in rows:
            continue
        number = rows[name][0]
        text = outputs["coroutine %d bt" % number]
        functions = frame_functions(text)
        if frames is None:
            check(functions == [], "%s: %s has no frames" % (label, name), text)
            continue
        # remote-runner waits inside the C library, below remote_block.
        if name != "remote-runner":
            check(functions[:1] == frames[:1], "%s: %s's backtrace starts in %s" % (label, name, frames[0]), text)
        check(in_order(functions, frames), "%s: %s's backtrace holds %s in order" % (label, name, frames), text)
        if name in LAST:
            tail = functions[functions.index(LAST[name]) + 1:] if LAST[name] in functions else ["?"]
            check(tail in ([], ["??"]), "%s: %s's backtrace ends after %s" % (label, name, LAST[name]), text)
        check(re.match(r"#0 ", text.splitlines()[1]) is not None if len(text.splitlines()) > 1 else False,
              "%s: %s's backtrace is numbered from 0" % (label, name), text)
        block = re.search(r'Coroutine %d "%s"[^\n]*\n(.*?)(?:\n\nCoroutine |\Z)' % (number, re.escape(name)),
                          everything, re.S)
        check(block is not None and frame_functions(block.group(1)) == functions,
              "%s: coroutine apply all bt shows %s as coroutine %d bt does" % (label, name, number), everything)

    selected = outputs["frame"]
    check(re.search(r"in sleeper_wait \(rounds=2\) at .*%s:%d" % (source_name, marks["sleeper"]), selected)
          is not None, "%s: coroutine N selects the coroutine's innermost frame" % label, selected)
    check("rounds = 2" in outputs["info args"], "%s: info args reads the selected coroutine's frame" % label,
          outputs["info args"])
    check("sleeper_entry" in outputs["up"], "%s: up goes to the coroutine's entry" % label, outputs["up"])
    # The thread's innermost frame, then the coroutine's; in the kernel's
    # core the innermost is abort()'s, which frame_functions() leaves out.
    innermost = [] if crashed else ["gdb_stop_here"]
    check(frame_functions(outputs["bt"])[:len(innermost) + 1] == innermost + ["sleeper_wait"],
          "%s: bt after coroutine N shows the coroutine's frames after the thread's innermost" % label,
          outputs["bt"])
    check(frame_functions(outputs["coroutine none"] + "\n" + outputs["bt 8"])[:2] == ["gdb_stop_here", "handoff_entry"],
          "%s: coroutine none gives the thread's stack back" % label, outputs["bt 8"])
    check("no coroutine 99" in outputs["coroutine 99 bt"], "%s: an unknown number is refused" % label,
          outputs["coroutine 99 bt"])
    check("has not started" in outputs["coroutine %d" % rows.get("fresh", (0,))[0]],
          "%s: a coroutine that never ran has no frames to select" % label)


def commands_for(rows):
    commands = ["info coroutines", "coroutine apply all bt"]
    commands += ["coroutine %d bt" % rows[name][0] for name in EXPECTED if name in rows]
    commands += ["coroutine %d" % rows["sleeper"][0], "frame", "info args", "up", "bt",
                 "coroutine none", "bt 8", "coroutine 99 bt", "coroutine %d" % rows["fresh"][0]]
    return commands


def kernel_core_file(directory):
    """Runs the program with --abort in directory and returns the core file
    the kernel wrote there, or None where the kernel sends core files
    elsewhere (a pipe to a crash handler, another directory)."""
    try:
        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
    except OSError:
        return None
    if pattern.startswith("|") or "/" in pattern:
        return None
    import resource

    def allow_core():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    before = set(os.listdir(directory))
    subprocess.run([os.path.abspath(program), "--abort"], cwd=directory, preexec_fn=allow_core,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    written = sorted(set(os.listdir(directory)) - before)
    return os.path.join(directory, written[0]) if written else None


def main():
    if shutil.which("gdb-multiarch" if qemu else "gdb") is None:
        print("gdb not found")
        return 77
    directory = tempfile.mkdtemp(prefix="libcoro-gdb-")
    core = os.path.join(directory, "core")
    try:
        # First a look at the numbers, then the full session with a core.
        outputs, raw = gdb([program], ["break gdb_stop_here", "run", "info coroutines", "kill"])
        rows = parse_table(outputs.get("info coroutines", ""))
        if "sleeper" not in rows or "fresh" not in rows:
            print(raw)
            check(False, "live: info coroutines lists the program's coroutines")
            return 1
        commands = commands_for(rows)
        if qemu is not None:
            outputs, raw = gdb([program], ["break gdb_stop_here", "run"] + commands + ["kill"])
            check_session("live under " + qemu[0], outputs, parse_table(outputs["info coroutines"]))
            return finish()
        outputs, raw = gdb([program], ["break gdb_stop_here", "run"] + commands)
        check_session("live", outputs, parse_table(outputs["info coroutines"]))
        os.environ["LIBCORO_GUARD"] = "mprotect"
        outputs, raw = gdb([program], ["break gdb_stop_here", "run", "gcore " + core, "kill"])
        del os.environ["LIBCORO_GUARD"]
        check(os.path.exists(core), "gcore wrote a core file", raw[-2000:])
        if os.path.exists(core):
            outputs, raw = gdb([program, core], commands)
            check_session("gcore's core", outputs, parse_table(outputs["info coroutines"]))
        kernel_directory = os.path.join(directory, "kernel")
        os.mkdir(kernel_directory)
        kernel_core = kernel_core_file(kernel_directory)
        if kernel_core is None:
            print("the kernel's core file: not tried (the kernel writes none to the working directory here)")
        else:
            outputs, raw = gdb([program, kernel_core], commands)
            check_session("the kernel's core", outputs, parse_table(outputs["info coroutines"]), crashed=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return finish()


def finish():
    if failures:
        print("%d checks failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


sys.exit(main())
