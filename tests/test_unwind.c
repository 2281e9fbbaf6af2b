/*
 * Unwinding inside a nested coroutine (a coroutine resumed by a coroutine;
 * test_backtrace covers one resumed by the thread): backtrace(),
 * _Unwind_Backtrace and gdb list its frames down to its entry function,
 * with no garbage frame. On x86-64 System V, AArch64, ARMv7 and RISC-V 64
 * the walk then goes on through the root into the coroutine that resumed
 * it, and through that one's root into the thread's frames (the
 * trampoline's unwind rules lead to the resumer's suspended frame);
 * elsewhere it stops at the root. A chain begun by a transfer from the
 * thread has no resumer: there every walk stops at the root.
 *
 * Frames are named with dladdr(), so the functions checked are global and
 * the executable exports its symbols (meson: export_dynamic).
 *
 * Run with --gdb-target, the binary is the program the gdb case debugs.
 */
#define _GNU_SOURCE /* dladdr */

#include <dlfcn.h>
#include <execinfo.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unwind.h>
#include <cmocka.h>

#include "coro.h"
#include "child.h"

/* Global (not static) so that dladdr() can name them; declared here since
 * no header does. */
void *outer_entry(void *value);
void *nested_inner_entry(void *value);
void take_backtraces(void);
void gdb_stop_here(void);
void *transferred_entry(void *value);
void run_nested(void);
void *gdb_thread(void *stacks);

#define MAX_FRAMES 64

#if (defined(__x86_64__) && !defined(_WIN64)) || defined(__aarch64__) || (defined(__riscv) && __riscv_xlen == 64) || defined(__arm__)
#define WALKS_INTO_RESUMER 1
#else
#define WALKS_INTO_RESUMER 0
#endif

struct walk {
    void *pcs[MAX_FRAMES];
    int count;
    _Unwind_Reason_Code end; /* how _Unwind_Backtrace ended */
};

static struct walk from_backtrace;  /* backtrace() inside the nested coroutine */
static struct walk from_unwinder;   /* _Unwind_Backtrace inside it */
static struct walk on_thread_stack; /* _Unwind_Backtrace on the thread's own stack */

static _Unwind_Reason_Code record_frame(struct _Unwind_Context *context, void *arg)
{
    struct walk *walk = arg;
    /* A full buffer fails the check anyway; _URC_END_OF_STACK is the one
     * stop code both DWARF and ARM EHABI unwinders declare. */
    if (walk->count == MAX_FRAMES)
        return _URC_END_OF_STACK;
    walk->pcs[walk->count++] = (void *)_Unwind_GetIP(context);
    return _URC_NO_REASON;
}

__attribute__((noinline)) static void unwind_into(struct walk *walk)
{
    walk->count = 0;
    walk->end = _Unwind_Backtrace(record_frame, walk);
}

__attribute__((noinline)) void take_backtraces(void)
{
    from_backtrace.count = backtrace(from_backtrace.pcs, MAX_FRAMES);
    unwind_into(&from_unwinder);
}

__attribute__((noinline)) void gdb_stop_here(void)
{
    /* Something the compiler cannot drop, so the call stays a call. */
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void *nested_inner_entry(void *value)
{
    take_backtraces();
    gdb_stop_here();
    /* Keep this frame live across the calls above. */
    __asm__ volatile("" ::: "memory");
    return value;
}

/* The options outer_entry creates its inner coroutine with (NULL: defaults). */
static const struct coro_options *inner_options;

__attribute__((noinline)) void *outer_entry(void *value)
{
    coro *inner;
    if (coro_create(&inner, nested_inner_entry, inner_options) != CORO_OK)
        return NULL;
    void *result = NULL;
    coro_resume(inner, value, &result);
    coro_destroy(inner);
    __asm__ volatile("" ::: "memory");
    return result;
}

__attribute__((noinline)) void run_nested(void)
{
    coro *outer;
    assert_int_equal(coro_create(&outer, outer_entry, NULL), CORO_OK);
    void *result = NULL;
    assert_int_equal(coro_resume(outer, (void *)7, &result), CORO_OK);
    assert_ptr_equal(result, (void *)7);
    assert_int_equal(coro_destroy(outer), CORO_OK);
}

/* The function a frame's pc lies in, by dladdr(); NULL for none. A return
 * address may point just past the function's last instruction (a call to a
 * noreturn function), so every frame but the innermost looks one byte back. */
static uintptr_t function_of(const struct walk *walk, int frame, const char **object)
{
    Dl_info info;
    const char *pc = walk->pcs[frame];
    if (frame > 0)
        pc--;
    if (dladdr(pc, &info) == 0) {
        *object = NULL;
        return 0;
    }
    *object = info.dli_fname;
    return (uintptr_t)info.dli_saddr;
}

static void print_walk(const char *what, const struct walk *walk)
{
    print_error("%s: %d frames\n", what, walk->count);
    for (int i = 0; i < walk->count; i++) {
        Dl_info info;
        const char *pc = (const char *)walk->pcs[i] - (i > 0);
        int found = dladdr(pc, &info);
        print_error("  #%d %p %s in %s\n", i, walk->pcs[i], found && info.dli_sname ? info.dli_sname : "?",
                    found ? info.dli_fname : "?");
    }
}

/* The frame at which the walk reaches function, from frame `from` on; -1
 * for none. Sets *garbage when a frame's pc lies in no loaded object. */
static int frame_of(const struct walk *walk, int count, int from, uintptr_t function, int *garbage)
{
    for (int i = from; i < count; i++) {
        const char *object;
        uintptr_t found = function_of(walk, i, &object);
        if (object == NULL)
            *garbage = 1;
        if (found == function)
            return i;
    }
    return -1;
}

/* libgcc's _Unwind_Backtrace reports one last frame with pc 0 where the
 * return address is undefined or 0 (glibc's backtrace() drops it): it marks
 * the end, at a coroutine's root as at the thread's. */
static int frames_without_end_mark(const struct walk *walk)
{
    int count = walk->count;
    if (count > 1 && walk->pcs[count - 1] == NULL)
        count--;
    return count;
}

/* A walk from inside the nested coroutine: the entry, then either (walking
 * into the resumer) the outer coroutine's entry and the thread's function
 * that resumed it, or at most the library's two root frames (coro_start
 * and the trampoline) and nothing of the resumer. Every frame lies in some
 * loaded object, and the walk ends before the buffer is full. */
static void check_walk(const char *what, const struct walk *walk)
{
    int count = frames_without_end_mark(walk);
    int garbage = 0;
    int entry = frame_of(walk, count, 0, (uintptr_t)nested_inner_entry, &garbage);
    int resumer = frame_of(walk, count, entry + 1, (uintptr_t)outer_entry, &garbage);
    int thread = frame_of(walk, count, resumer + 1, (uintptr_t)run_nested, &garbage);
    frame_of(walk, count, 0, 0, &garbage); /* every frame, for garbage */
    int bad = garbage || entry < 0 || walk->count >= MAX_FRAMES;
    if (WALKS_INTO_RESUMER)
        bad |= resumer < 0 || thread < 0;
    else
        bad |= resumer >= 0 || count - 1 - entry < 1 || count - 1 - entry > 2;
    if (bad) {
        print_walk(what, walk);
        fail_msg("%s: entry at frame %d, resumer at %d, thread at %d", what, entry, resumer, thread);
    }
}

static void test_backtrace_in_nested_coroutine(void **state)
{
    (void)state;
    run_nested();
    check_walk("backtrace()", &from_backtrace);
}

static void test_unwind_backtrace_in_nested_coroutine(void **state)
{
    (void)state;
    run_nested();
    check_walk("_Unwind_Backtrace", &from_unwinder);
    /* It ends the way a walk of the thread's own stack ends (at _start):
     * _URC_END_OF_STACK with DWARF unwinding; ARM's EHABI unwinder reports
     * its own code at an outermost frame, the same at both roots. */
    unwind_into(&on_thread_stack);
    assert_int_equal(from_unwinder.end, on_thread_stack.end);
}

/* A chain begun by a transfer from the thread has no resumer to walk into:
 * every walk ends at the coroutine's root, on every target. */
__attribute__((noinline)) void *transferred_entry(void *value)
{
    take_backtraces();
    __asm__ volatile("" ::: "memory");
    return value;
}

static void test_transferred_chain_stops_at_root(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, transferred_entry, NULL), CORO_OK);
    assert_int_equal(coro_transfer(co, NULL, NULL), CORO_OK);
    assert_int_equal(coro_destroy(co), CORO_OK);
    const struct walk *walks[] = {&from_backtrace, &from_unwinder};
    for (size_t w = 0; w < 2; w++) {
        int count = frames_without_end_mark(walks[w]);
        int garbage = 0;
        int entry = frame_of(walks[w], count, 0, (uintptr_t)transferred_entry, &garbage);
        frame_of(walks[w], count, 0, 0, &garbage);
        int after_entry = count - 1 - entry;
        if (garbage || entry < 0 || after_entry < 1 || after_entry > 2) {
            print_walk(w == 0 ? "backtrace()" : "_Unwind_Backtrace", walks[w]);
            fail_msg("entry at frame %d, %d frames after it", entry, after_entry);
        }
    }
}

#if defined(__ARM_EABI_UNWINDER__)
/* Arm: the trampoline's personality routine walks on into the resumer for a
 * backtrace only. Forced unwinding (what pthread_exit and pthread_cancel
 * do) ends at the root, as it did when the trampoline's entry said "cannot
 * unwind": the stop function hears of the stack's end there (at pc 0,
 * src/arch/arm_unwind.c). A stop function that lets every frame pass
 * records where it went; no frame has a cleanup, so the unwind returns here
 * when it ends. */
void *forced_unwind_entry(void *value);
void run_forced_unwind(struct walk *walk);

/* The frame at which the stop function was told the stack ends; -1: never. */
static int forced_unwind_ended_at;

static _Unwind_Reason_Code record_forced_frame(int version, _Unwind_Action actions,
                                               _Unwind_Exception_Class exception_class,
                                               struct _Unwind_Exception *exception,
                                               struct _Unwind_Context *context, void *arg)
{
    (void)version;
    (void)exception_class;
    (void)exception;
    struct walk *walk = arg;
    if (actions & _US_END_OF_STACK)
        forced_unwind_ended_at = walk->count;
    return record_frame(context, arg) == _URC_NO_REASON ? _URC_NO_REASON : _URC_FAILURE;
}

__attribute__((noinline)) void *forced_unwind_entry(void *value)
{
    struct walk *walk = value;
    static struct _Unwind_Exception exception;
    memset(&exception, 0, sizeof exception);
    memcpy(exception.exception_class, "CORO\0\0\0\0", sizeof exception.exception_class);
    walk->count = 0;
    walk->end = _Unwind_ForcedUnwind(&exception, record_forced_frame, walk);
    __asm__ volatile("" ::: "memory");
    return value;
}

__attribute__((noinline)) void run_forced_unwind(struct walk *walk)
{
    coro *co;
    assert_int_equal(coro_create(&co, forced_unwind_entry, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, walk, NULL), CORO_OK);
    assert_int_equal(coro_destroy(co), CORO_OK);
    __asm__ volatile("" ::: "memory");
}

static void test_forced_unwind_stops_at_root(void **state)
{
    (void)state;
    static struct walk walk;
    forced_unwind_ended_at = -1;
    run_forced_unwind(&walk);
    /* The last frame, pc 0, is where the stack ended. */
    int count = frames_without_end_mark(&walk);
    int garbage = 0;
    int entry = frame_of(&walk, count, 0, (uintptr_t)forced_unwind_entry, &garbage);
    int resumer = frame_of(&walk, count, 0, (uintptr_t)run_forced_unwind, &garbage);
    if (garbage || entry < 0 || resumer >= 0 || count - 1 - entry != 2 || count == walk.count ||
        forced_unwind_ended_at != count) {
        print_walk("_Unwind_ForcedUnwind", &walk);
        fail_msg("ended with %d at frame %d, entry at frame %d, resumer at %d", (int)walk.end,
                 forced_unwind_ended_at, entry, resumer);
    }
}
#endif

/* ---- gdb ---- */

/* gdb stops a backtrace at a frame whose CFA lies below the CFA of the frame
 * it called ("previous frame inner to this frame"), unless a signal frame
 * lies between them: it takes that for a corrupt stack. Walking from a
 * coroutine's root into its resumer therefore needs the resumer's stack
 * above the coroutine's. Where stacks come from separate mappings that
 * depends on where the system places them (Linux places mappings downward,
 * below the main thread's stack; qemu-user places them upward, and its main
 * thread's stack lies where the target's ELF layout puts it), so the program
 * gdb debugs runs on a thread whose stack it places itself: one mapping
 * holds the inner coroutine's stack, the outer one's above it, and the
 * thread's above both. */
#define GDB_STACK_SIZE (64 * 1024)

__attribute__((noinline)) void *gdb_thread(void *stacks)
{
    struct coro_options outer_options = {.stack_size = GDB_STACK_SIZE, .stack = (char *)stacks + GDB_STACK_SIZE};
    static struct coro_options nested_options = {.stack_size = GDB_STACK_SIZE};
    nested_options.stack = stacks;
    inner_options = &nested_options;
    coro *outer;
    if (coro_create(&outer, outer_entry, &outer_options) != CORO_OK)
        return NULL;
    coro_resume(outer, NULL, NULL);
    coro_destroy(outer);
    __asm__ volatile("" ::: "memory");
    return stacks;
}

static int gdb_target(void)
{
    size_t thread_stack_size = 2 * GDB_STACK_SIZE;
    char *stacks = mmap(NULL, 2 * GDB_STACK_SIZE + thread_stack_size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stacks == MAP_FAILED)
        return 1;
    pthread_attr_t attributes;
    pthread_t thread;
    void *result = NULL;
    if (pthread_attr_init(&attributes) != 0 ||
        pthread_attr_setstack(&attributes, stacks + 2 * GDB_STACK_SIZE, thread_stack_size) != 0 ||
        pthread_create(&thread, &attributes, gdb_thread, stacks) != 0 || pthread_join(thread, &result) != 0)
        return 1;
    return result == stacks ? 0 : 1;
}

/* In a child: replaces it with gdb run on this very binary in --gdb-target
 * mode, breaking in the nested coroutine (exit status 127: no gdb). */
static void exec_gdb_on_self(void)
{
    char self[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0)
        _exit(126);
    self[length] = '\0';
    execlp("gdb", "gdb", "-batch", "-nx", "-ex", "set style enabled off", "-ex", "set width 0",
           "-ex", "break gdb_stop_here", "-ex", "run", "-ex", "bt", "-ex", "kill",
           "--args", self, "--gdb-target", (char *)NULL);
    _exit(127);
}

static void test_gdb_bt_in_nested_coroutine(void **state)
{
    (void)state;
    static struct child_result result;
    run_child(exec_gdb_on_self, CHILD_STDERR_STDOUT, &result);
    const char *output = result.output;
    int status = result.status;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        print_message("gdb is not installed\n");
        skip();
    }
    if (strstr(output, "Breakpoint 1, ") == NULL) {
        /* gdb could not run the program at all: another architecture
         * (under qemu-user), or ptrace is not allowed here. */
        print_message("gdb could not run this binary here; it said:\n%s\n", output);
        skip();
    }

    /* The frames of bt, from "#0" to the end, or, walking into the
     * resumer, to the thread's function gdb_thread: the frames below it are
     * the C library's thread start, whose unwind information is not ours to
     * check (under qemu, gdb cannot unwind Arm's start_thread). */
    static char frames[sizeof result.output];
    const char *first = strstr(output, "\n#0 ");
    if (first == NULL)
        fail_msg("no backtrace in gdb's output:\n%s", output);
    size_t length = strlen(first);
    const char *thread = strstr(first, " gdb_thread (");
    if (WALKS_INTO_RESUMER && thread != NULL && strchr(thread, '\n') != NULL)
        length = (size_t)(strchr(thread, '\n') - first);
    memcpy(frames, first, length);
    frames[length] = '\0';
    int bad = strstr(frames, "gdb_stop_here") == NULL || strstr(frames, "nested_inner_entry") == NULL ||
              strstr(frames, "coro_start") == NULL;
    /* None of gdb's complaints about a frame it could not unwind. */
    bad |= strstr(frames, "Backtrace stopped") != NULL || strstr(frames, "corrupt stack") != NULL ||
           strstr(frames, "?? (") != NULL;
    if (WALKS_INTO_RESUMER) {
        /* On through the outer coroutine into the thread's frames. */
        const char *resumer = strstr(frames, "outer_entry");
        bad |= resumer == NULL || strstr(resumer, " gdb_thread (") == NULL;
    } else {
        /* Nothing of the resumer; at most the trampoline after coro_start. */
        bad |= strstr(frames, "outer_entry") != NULL;
        const char *root = strstr(frames, "coro_start");
        int after_root = 0;
        for (const char *line = root; line != NULL && (line = strstr(line, "\n#")) != NULL; line++)
            after_root++;
        bad |= after_root > 1;
    }
    if (bad)
        fail_msg("unexpected backtrace from gdb:\n%s", output);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--gdb-target") == 0)
        return gdb_target();

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backtrace_in_nested_coroutine),
        cmocka_unit_test(test_unwind_backtrace_in_nested_coroutine),
        cmocka_unit_test(test_transferred_chain_stops_at_root),
#if defined(__ARM_EABI_UNWINDER__)
        cmocka_unit_test(test_forced_unwind_stops_at_root),
#endif
        cmocka_unit_test(test_gdb_bt_in_nested_coroutine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
