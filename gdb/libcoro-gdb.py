# libcoro's gdb extension: lists a program's coroutines and shows the
# backtrace of any of them, in a live process or a core file.
#
#   info coroutines          one row per live coroutine
#   coroutine N              select coroutine N: bt, frame, up, info locals
#                            then work on its stack (frame 1 is its innermost
#                            frame, frame 0 stays the thread's own)
#   coroutine N bt [ARGS]    its backtrace, numbered from its innermost frame
#   coroutine apply all bt   every coroutine's backtrace
#   coroutine none           back to the thread's own stack
#
# gdb loads this file by itself for programs linked with the installed
# shared library (it is installed as <libdir>/libcoro.so.X.Y.Z-gdb.py under
# gdb's auto-load directory); for a static link, `source` it.
#
# Everything is read from memory: the registry (src/registry.h documents
# its layout, mirrored in Registry below) and each coroutine's suspended
# frame (drawn in src/arch/<abi>.S). Nothing runs in the inferior, so a core
# file works as well as a live process. A suspended coroutine's registers
# are given to gdb by a frame unwinder, not by writing registers, which a
# core file does not allow.

import re
import struct

import gdb
from gdb.unwinder import Unwinder, register_unwinder

REGISTRY_VERSION = 1
STATUS_NAMES = {0: "suspended", 1: "running", 2: "normal", 3: "dead"}
SUSPENDED, RUNNING, NORMAL, DEAD = 0, 1, 2, 3

# The suspended frame at a coroutine's saved stack pointer, per ABI and
# frame size (coro_registry.frame_size tells the variant): where each
# register was saved (bytes above the saved stack pointer; "pc" is the
# return address the switch goes back to), and the stack pointer once the
# frame is popped (the switch's caller's). Each is drawn in its .S file.
def _slots(first_offset, names, step):
    return {name: first_offset + i * step for i, name in enumerate(names)}


FRAMES = {
    # src/arch/x86_64_sysv.S
    ("i386:x86-64", 64): {
        "pc": "rip", "sp": "rsp", "popped": 64,
        "saved": {"rip": 56, "rbp": 48, "rbx": 40, "r12": 32, "r13": 24, "r14": 16, "r15": 8},
    },
    # src/arch/aarch64.S: x29 at +0, x30 (the return address) at +8,
    # x19-x28 from +16. Under pointer authentication x30 is signed: the
    # unwinder strips it (see _strip_pac).
    ("aarch64", 176): {
        "pc": "pc", "sp": "sp", "popped": 176,
        "saved": dict(_slots(16, ["x%d" % n for n in range(19, 29)], 8), x29=0, x30=8, pc=8),
    },
    # src/arch/arm.S, with an FP unit (d8-d15 at +0) and without.
    ("arm", 104): {
        "pc": "pc", "sp": "sp", "popped": 104,
        "saved": dict(_slots(64, ["r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11"], 4), lr=100, pc=100),
    },
    ("arm", 40): {
        "pc": "pc", "sp": "sp", "popped": 40,
        "saved": dict(_slots(0, ["r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11"], 4), lr=36, pc=36),
    },
    # src/arch/riscv64.S, with the F/D extension and without.
    ("riscv:rv64", 208): {
        "pc": "pc", "sp": "sp", "popped": 208,
        "saved": dict(_slots(32, ["s%d" % n for n in range(3, 12)], 8), pc=0, ra=0, fp=8, s1=16, s2=24),
    },
    ("riscv:rv64", 112): {
        "pc": "pc", "sp": "sp", "popped": 112,
        "saved": dict(_slots(32, ["s%d" % n for n in range(3, 12)], 8), pc=0, ra=0, fp=8, s1=16, s2=24),
    },
}


def _code_address(value, layout):
    """A saved return address as a plain code address: AArch64 pointer
    authentication keeps a signature in the bits above the 48-bit user
    address space; an ARM return address to Thumb code has bit 0 set."""
    return value & layout.get("code_mask", ~0)


FRAMES[("aarch64", 176)]["code_mask"] = (1 << 48) - 1
FRAMES[("arm", 104)]["code_mask"] = ~1
FRAMES[("arm", 40)]["code_mask"] = ~1
# ARM: gdb wants the caller's cpsr too, whose T bit (5) says whether the
# return address is Thumb code: bit 0 of the saved lr.
FRAMES[("arm", 104)]["thumb_bit"] = True
FRAMES[("arm", 40)]["thumb_bit"] = True


class LibcoroError(Exception):
    pass


def _inferior():
    inferior = gdb.selected_inferior()
    if inferior is None or inferior.pid == 0 and not _has_core():
        raise LibcoroError("no process or core file")
    return inferior


def _has_core():
    try:
        return "core" in gdb.execute("info target", to_string=True).lower()
    except gdb.error:
        return False


def _pointer_size():
    return gdb.lookup_type("void").pointer().sizeof


def _byte_order():
    return ">" if "big endian" in gdb.execute("show endian", to_string=True) else "<"


class Memory:
    def __init__(self):
        self.inferior = gdb.selected_inferior()
        self.order = _byte_order()
        self.ptr = _pointer_size()
        self.ptr_code = "Q" if self.ptr == 8 else "I"

    def read(self, address, size):
        return bytes(self.inferior.read_memory(address, size))

    def pointer(self, address):
        return struct.unpack(self.order + self.ptr_code, self.read(address, self.ptr))[0]

    def u32(self, address):
        return struct.unpack(self.order + "I", self.read(address, 4))[0]

    def i32(self, address):
        return struct.unpack(self.order + "i", self.read(address, 4))[0]


class Coroutine:
    """One live coroutine, read from its control block."""

    def __init__(self, number, block, registry, memory):
        self.number = number
        self.block = block
        raw = memory.read(block + registry.name_offset, registry.name_size)
        self.name = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        self.status = memory.i32(block + registry.status_offset)
        self.sp = memory.pointer(block + registry.sp_offset)
        self.bottom = memory.pointer(block + registry.bottom_offset)
        self.top = block
        self.entry = memory.pointer(block + registry.entry_offset)
        self.resumer = memory.pointer(block + registry.resumer_offset)
        self.cancelled = memory.read(block + registry.cancelled_offset, 1) != b"\0"
        inbox = memory.pointer(block + registry.inbox_offset)
        self.started = not (self.status == SUSPENDED and inbox == block + registry.first_value_offset)
        self.thread = None  # the gdb thread it runs on, when running
        self.thread_sp = None

    def has_saved_frame(self):
        return self.status in (SUSPENDED, NORMAL) and self.started

    def status_name(self):
        name = STATUS_NAMES.get(self.status, "?%d" % self.status)
        return name + ",cancelled" if self.cancelled else name


class Registry:
    """The registry of live coroutines, from the symbol coro_registry."""

    HEADER = "16I"

    def __init__(self):
        try:
            self.address = int(gdb.parse_and_eval("(unsigned long)&coro_registry"))
        except gdb.error:
            raise LibcoroError("no coro_registry in this program: is it linked with libcoro?")
        memory = Memory()
        fields = struct.unpack(memory.order + self.HEADER, memory.read(self.address, struct.calcsize(self.HEADER)))
        (self.version, self.list_count, self.list_stride, self.lists_offset, self.link_offset,
         self.sp_offset, self.status_offset, self.name_offset, self.name_size, self.bottom_offset,
         self.entry_offset, self.inbox_offset, self.first_value_offset, self.frame_size,
         self.resumer_offset, self.cancelled_offset) = fields
        if self.version != REGISTRY_VERSION:
            raise LibcoroError("coro_registry version %d; this script reads version %d" %
                               (self.version, REGISTRY_VERSION))
        self.memory = memory

    def coroutines(self):
        """Every live coroutine, numbered from 1: list by list, oldest first
        within a list (each list holds its newest first)."""
        found = []
        seen = set()
        for index in range(self.list_count):
            links = []
            link = self.memory.pointer(self.address + self.lists_offset + index * self.list_stride)
            while link != 0:
                # A link seen before means the list is not what libcoro
                # wrote: memory overwritten, or left out of a core file.
                if link in seen:
                    raise LibcoroError("the registry's list %d loops at 0x%x: the process's memory is "
                                       "damaged or the core file lacks it" % (index, link))
                seen.add(link)
                links.append(link)
                try:
                    link = self.memory.pointer(link)
                except gdb.MemoryError:
                    raise LibcoroError("the registry's list %d leads to unreadable memory at 0x%x" %
                                       (index, link))
            found.extend(reversed(links))
        coroutines = [Coroutine(n + 1, link - self.link_offset, self, self.memory) for n, link in enumerate(found)]
        _find_threads(coroutines)
        return coroutines


def _architecture():
    frame = gdb.selected_frame() if gdb.selected_thread() is not None else None
    if frame is None:
        raise LibcoroError("no thread selected")
    return frame.architecture().name()


def _frame_layout(registry=None):
    name = _architecture()
    if name.startswith("arm") and name != "aarch64":
        name = "arm"
    frame_size = (registry or Registry()).frame_size
    if (name, frame_size) not in FRAMES:
        raise LibcoroError("no suspended-frame layout for %s (frame of %d bytes) in this script" % (name, frame_size))
    return FRAMES[(name, frame_size)]


def _find_threads(coroutines):
    """A running coroutine runs on the thread whose stack pointer lies in its
    stack."""
    running = [c for c in coroutines if c.status == RUNNING]
    if not running:
        return
    selected = gdb.selected_thread()
    frame_level = None
    try:
        frame_level = gdb.selected_frame().level()
    except gdb.error:
        pass
    try:
        for thread in gdb.selected_inferior().threads():
            thread.switch()
            sp = int(gdb.newest_frame().read_register("sp"))
            for c in running:
                if c.bottom <= sp < c.top:
                    c.thread = thread
                    c.thread_sp = sp
    finally:
        if selected is not None:
            selected.switch()
            if frame_level is not None:
                try:
                    gdb.execute("select-frame %d" % frame_level)
                except gdb.error:
                    pass


def _function_at(pc):
    """'function at file:line' for a code address."""
    try:
        block = gdb.block_for_pc(pc)
    except RuntimeError:
        block = None
    while block is not None and block.function is None:
        block = block.superblock
    name = block.function.print_name if block is not None else None
    if name is None:
        text = gdb.execute("info symbol 0x%x" % pc, to_string=True)
        name = text.split(" in ")[0].split(" + ")[0].strip() if "No symbol" not in text else "0x%x" % pc
    sal = gdb.find_pc_line(pc)
    if sal.symtab is not None and sal.line:
        return "%s at %s:%d" % (name, sal.symtab.filename, sal.line)
    return name


def _waiting_place(c, registry):
    if c.status == DEAD:
        return "(returned)"
    if c.status == RUNNING:
        return "(running)"
    if not c.started:
        return "not started: " + _function_at(c.entry)
    layout = _frame_layout(registry)
    return_address = _code_address(registry.memory.pointer(c.sp + layout["saved"][layout["pc"]]), layout)
    # A return address follows the call: look one byte back for its line.
    where = _function_at(return_address - 1)
    if where.split(" ")[0] in LIBRARY_FUNCTIONS:
        # An unoptimised libcoro calls the switch from its own functions:
        # the waiting place is the first frame out of them.
        where = _with_selection_kept(lambda: _first_frame_outside_library(c)) or where
    return where


# libcoro's functions that can hold a suspended context's innermost frames
# (in an unoptimised build, where the switch is not a tail call).
LIBRARY_FUNCTIONS = {"switch_to", "switch_to_idle", "switch_stacks", "switch_handing_over_cxx_eh", "switch_with_hook",
                     "coro_yield", "yield_carefully", "coro_resume", "resume_carefully", "coro_transfer",
                     "transfer_carefully", "coro_cancel", "coro_resume_with", "coro_yield_with", "coro_transfer_with"}


def _first_frame_outside_library(c):
    skip = _show_saved_frame(c.sp, Memory())
    frame = gdb.newest_frame()
    for _ in range(skip):
        frame = frame.older() if frame is not None else None
    while frame is not None and frame.name() in LIBRARY_FUNCTIONS:
        frame = frame.older()
    if frame is None or frame.name() is None:
        return None
    sal = frame.find_sal()
    if sal.symtab is not None and sal.line:
        return "%s at %s:%d" % (frame.name(), sal.symtab.filename, sal.line)
    return frame.name()


def _high_water(c, memory):
    """Bytes below the top that hold anything but zeros: a stack the library
    mapped starts as zero pages, so the lowest nonzero byte marks the
    deepest use (pooled stacks keep what earlier coroutines wrote)."""
    if not show_high_water.value:
        return None
    # Bounds that are no stack's (a damaged block, or one a core file left
    # out) would make the scan read the whole address space.
    if not 0 < c.top - c.bottom <= 1 << 32:
        return None
    page = 4096
    start = c.bottom - c.bottom % page
    address = start
    while address < c.top:
        size = min(page, c.top - address)
        try:
            data = memory.read(address, size)
        except gdb.MemoryError:
            data = b""
        stripped = data.lstrip(b"\0")
        if stripped:
            lowest = max(address + len(data) - len(stripped), c.bottom)
            return c.top - lowest
        address += size
    return 0


def _kib(n):
    if n is None:
        return "-"
    return "%d" % ((n + 1023) // 1024)


class ShowHighWater(gdb.Parameter):
    """Whether `info coroutines` scans each stack for its high-water mark."""

    set_doc = "Set whether info coroutines scans stacks for a high-water mark."
    show_doc = "Show whether info coroutines scans stacks for a high-water mark."

    def __init__(self):
        super().__init__("libcoro-high-water", gdb.COMMAND_DATA, gdb.PARAM_BOOLEAN)
        self.value = True

    def get_show_string(self, value):
        return "Scanning stacks for a high-water mark is %s." % value


show_high_water = ShowHighWater()


class CoroutineUnwinder(Unwinder):
    """While a coroutine is selected, the selected thread's innermost frame
    unwinds into that coroutine's suspended frame: its caller is the code
    that called coro_yield/coro_resume/coro_transfer, with the registers
    the switch saved. Everything further out is gdb's usual unwinding (which
    on x86-64 System V, AArch64 and RISC-V 64 goes on from the coroutine's root
    into its resumer where gdb allows; the backtrace commands chain resumers
    themselves)."""

    def __init__(self):
        super().__init__("libcoro")
        self.thread = None
        self.sp = None

    def select(self, thread, sp, layout, memory, innermost):
        self.thread = thread
        self.sp = sp
        # The (sp, pc) of the thread's innermost real frame: the frame to
        # claim. (Its level is not always 0: inlined frames come first.)
        self.innermost = innermost
        # Read now: the unwinder must not look at frames (that recurses)
        # nor run commands.
        self.layout = layout
        self.memory = memory
        gdb.invalidate_cached_frames()

    def clear(self):
        if self.thread is not None:
            self.thread = None
            self.sp = None
            gdb.invalidate_cached_frames()

    def __call__(self, pending_frame):
        if self.thread is None:
            return None
        thread = gdb.selected_thread()
        if thread is None or thread.ptid != self.thread:
            return None
        layout = self.layout
        memory = self.memory
        sp_value = pending_frame.read_register(layout["sp"])
        pc_value = pending_frame.read_register(layout["pc"])
        if (int(sp_value), int(pc_value)) != self.innermost:
            return None
        # The frame's id takes the coroutine's saved sp, not the thread's:
        # gdb stops a walk whose next frame lies below this one, and the
        # coroutine's stack may lie anywhere relative to the thread's.
        info = pending_frame.create_unwind_info(FrameId(gdb.Value(self.sp).cast(sp_value.type), pc_value))
        for register, offset in layout["saved"].items():
            value = memory.pointer(self.sp + offset)
            if register == layout["pc"]:
                value = _code_address(value, layout)
            register_type = pending_frame.read_register(register).type
            info.add_saved_register(register, gdb.Value(value).cast(register_type))
        if layout.get("thumb_bit"):
            cpsr = pending_frame.read_register("cpsr")
            lr = memory.pointer(self.sp + layout["saved"]["lr"])
            value = (int(cpsr) & ~0x20) | (0x20 if lr & 1 else 0)
            info.add_saved_register("cpsr", gdb.Value(value).cast(cpsr.type))
        sp_type = sp_value.type
        info.add_saved_register(layout["sp"], gdb.Value(self.sp + layout["popped"]).cast(sp_type))
        return info


class FrameId:
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


unwinder = CoroutineUnwinder()
register_unwinder(None, unwinder, replace=True)


def _clear_selection(event=None):
    unwinder.clear()


gdb.events.cont.connect(_clear_selection)
gdb.events.exited.connect(_clear_selection)


def _coroutine(number):
    registry = Registry()
    for c in registry.coroutines():
        if c.number == number:
            return c, registry
    raise LibcoroError("no coroutine %d (see info coroutines)" % number)


def _select(c):
    """Makes gdb show c's stack. Returns a description, or raises."""
    if c.status == RUNNING:
        if c.thread is None:
            raise LibcoroError("coroutine %d runs on a thread gdb does not see" % c.number)
        unwinder.clear()
        c.thread.switch()
        return "running on thread %d" % c.thread.num, 0
    if c.status == DEAD:
        raise LibcoroError("coroutine %d is dead: it has no frames" % c.number)
    if not c.started:
        raise LibcoroError("coroutine %d has not started: it will run %s" % (c.number, _function_at(c.entry)))
    skip = _show_saved_frame(c.sp, Memory())
    gdb.execute("select-frame %d" % skip)
    # Selected: where the coroutine waits, past libcoro's own frames (which
    # only an unoptimised build has there).
    frame = gdb.selected_frame()
    while frame.name() in LIBRARY_FUNCTIONS and frame.older() is not None:
        frame = frame.older()
    frame.select()
    return None, skip


def _show_saved_frame(sp, memory):
    """Makes the selected thread's innermost frame unwind into the saved
    frame at sp. Returns how many of the thread's own frames come first."""
    unwinder.clear()
    layout = _frame_layout()
    newest = gdb.newest_frame()
    innermost = (int(newest.read_register(layout["sp"])), int(newest.read_register(layout["pc"])))
    unwinder.select(gdb.selected_thread().ptid, sp, layout, memory, innermost)
    skip = 0
    frame = gdb.newest_frame()
    while frame is not None and frame.type() == gdb.INLINE_FRAME:
        skip += 1
        frame = frame.older()
    return skip + 1


TRAMPOLINE = "coro_arch_trampoline"


def _frames_to_root(text, skip):
    """The lines of bt's text from frame `skip` on, up to and including the
    coroutine's root (the trampoline), and whether the root was reached."""
    lines = []
    for line in text.splitlines():
        match = re.match(r"#(\d+)", line)
        if match and int(match.group(1)) < skip or not line.strip():
            continue
        lines.append(line)
        if match and " " + TRAMPOLINE + " " in line:
            return lines, True
    return lines, False


def _chained_backtrace(c, registry, arguments):
    """c's frames, then on through its root into the context that resumed
    it, and so on: gdb's own walk across stacks stops when the resumer's
    stack lies below (gdb takes that for a corrupt stack), so each context
    of the chain is unwound from its own saved frame."""
    where, skip = _select(c)
    text = gdb.execute("bt " + arguments, to_string=True)
    frames, at_root = _frames_to_root(text, skip)
    resumer = c.resumer
    thread = gdb.selected_thread()
    seen = set()
    while at_root and resumer != 0 and resumer not in seen and len(seen) < 256:
        seen.add(resumer)
        sp = registry.memory.pointer(resumer + registry.sp_offset)
        skip = _show_saved_frame(sp, registry.memory)
        text = gdb.execute("bt " + arguments, to_string=True)
        more, at_root = _frames_to_root(text, skip)
        frames.extend(more)
        resumer = registry.memory.pointer(resumer + registry.resumer_offset)
    numbered = []
    n = 0
    for line in frames:
        match = re.match(r"#\d+\s*", line)
        if match:
            numbered.append(("#%d" % n).ljust(len(match.group(0))) + line[match.end():])
            n += 1
        else:
            numbered.append(line)
    return "\n".join(numbered)


def _backtrace(c, registry, arguments):
    """c's backtrace as text, leaving the selection as it was."""
    return _with_selection_kept(lambda: _chained_backtrace(c, registry, arguments))


def _with_selection_kept(work):
    """work(), then the selected thread, frame and coroutine as before."""
    previous = (unwinder.thread, unwinder.sp, getattr(unwinder, "layout", None), getattr(unwinder, "memory", None),
                getattr(unwinder, "innermost", None))
    thread = gdb.selected_thread()
    try:
        level = gdb.selected_frame().level()
    except gdb.error:
        level = None
    try:
        return work()
    finally:
        if previous[0] is not None:
            unwinder.select(*previous)
        else:
            unwinder.clear()
        if thread is not None:
            thread.switch()
            if level is not None:
                try:
                    gdb.execute("select-frame %d" % level)
                except gdb.error:
                    pass


def _header(c):
    line = 'Coroutine %d "%s" (%s' % (c.number, c.name, c.status_name())
    if c.thread is not None:
        line += ", thread %d" % c.thread.num
    return line + "):"


class InfoCoroutines(gdb.Command):
    """List the program's live coroutines.

Columns: the number to give `coroutine`, the name, the status, the thread
a running one runs on, the stack's usable size, the bytes in use (from the
saved stack pointer) and the high-water mark in KiB, and where a suspended
or normal one waits (the function that called coro_yield, coro_resume or
coro_transfer). `set libcoro-high-water off` skips the high-water scan."""

    def __init__(self):
        super().__init__("info coroutines", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        try:
            registry = Registry()
            coroutines = registry.coroutines()
        except LibcoroError as error:
            raise gdb.GdbError(str(error))
        if not coroutines:
            print("No live coroutines.")
            return
        rows = [("", "Id", "Name", "Status", "Thread", "KiB", "Used", "High", "Where")]
        for c in coroutines:
            sp = c.thread_sp if c.status == RUNNING else c.sp
            used = c.top - sp if sp is not None and c.bottom <= sp <= c.top else None
            high = _high_water(c, registry.memory)
            selected = "*" if unwinder.thread is not None and unwinder.sp == c.sp and c.has_saved_frame() else ""
            try:
                where = _waiting_place(c, registry)
            except (gdb.error, LibcoroError) as error:
                where = "? (%s)" % error
            rows.append((selected, str(c.number), '"%s"' % c.name, c.status_name(),
                         str(c.thread.num) if c.thread is not None else "-",
                         _kib(c.top - c.bottom), _kib(used), _kib(high), where))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:
            print("  ".join(cell.ljust(widths[i]) if i < 3 else cell.rjust(widths[i]) if i >= 5 else cell.ljust(widths[i])
                            for i, cell in enumerate(row[:-1])) + "  " + row[-1])


class CoroutineCommand(gdb.Command):
    """Select a coroutine, or show its backtrace.

coroutine N           select coroutine N (see info coroutines): bt, frame,
                      up, down and info locals then work on its stack; its
                      innermost frame is frame 1 (frame 0 stays the thread's)
coroutine N bt [ARGS] print its backtrace (ARGS as for bt: full, -N ...)
coroutine none        show the thread's own stack again
coroutine apply all bt [ARGS]   every coroutine's backtrace"""

    def __init__(self):
        super().__init__("coroutine", gdb.COMMAND_STACK, prefix=True)

    def invoke(self, argument, from_tty):
        words = argument.split()
        if not words:
            if unwinder.thread is None:
                print("No coroutine selected.")
            else:
                print("Selected the coroutine suspended at sp 0x%x." % unwinder.sp)
            return
        if words[0] == "none":
            unwinder.clear()
            return
        try:
            number = int(words[0])
        except ValueError:
            raise gdb.GdbError("usage: coroutine N [bt [ARGS]] | coroutine none | coroutine apply all bt")
        try:
            c, registry = _coroutine(number)
            if len(words) > 1 and words[1] in ("bt", "backtrace", "where"):
                print(_header(c))
                print(_backtrace(c, registry, " ".join(words[2:])))
                return
            if len(words) > 1:
                raise gdb.GdbError("usage: coroutine N [bt [ARGS]]")
            where, _ = _select(c)
        except LibcoroError as error:
            raise gdb.GdbError(str(error))
        print('[Switching to coroutine %d "%s" (%s)]' % (c.number, c.name, where or c.status_name()))
        gdb.execute("frame")


class CoroutineApply(gdb.Command):
    """Apply a command to coroutines: coroutine apply all bt [ARGS]."""

    def __init__(self):
        super().__init__("coroutine apply", gdb.COMMAND_STACK, prefix=True)


class CoroutineApplyAll(gdb.Command):
    """coroutine apply all bt [ARGS]: the backtrace of every coroutine that has
frames (running ones on their threads, suspended and normal ones from their
saved frames)."""

    def __init__(self):
        super().__init__("coroutine apply all", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        words = argument.split()
        if not words or words[0] not in ("bt", "backtrace", "where"):
            raise gdb.GdbError("usage: coroutine apply all bt [ARGS]")
        try:
            registry = Registry()
            coroutines = registry.coroutines()
        except LibcoroError as error:
            raise gdb.GdbError(str(error))
        for c in coroutines:
            print()
            print(_header(c))
            try:
                print(_backtrace(c, registry, " ".join(words[1:])))
            except (LibcoroError, gdb.error) as error:
                print("  " + str(error))


InfoCoroutines()
CoroutineCommand()
CoroutineApply()
CoroutineApplyAll()
