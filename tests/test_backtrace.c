/*
 * backtrace() inside a coroutine lists the entry function, then, where the
 * trampoline's unwind rules lead into the resumer (every ABI but Win64, which
 * builds no <execinfo.h> test), the function that resumed it, and ends. The
 * walk is what gdb and crash reporters do too: it runs through the core's
 * frames with the unwinder and must reach the resumer's suspended frame, or
 * end at the trampoline, instead of wandering into stale stack memory or
 * looping there.
 *
 * glibc's backtrace() gives up by itself on a frame that repeats, so the
 * unwinder underneath is also driven directly: it must report the end of the
 * stack, which it does only at a frame whose return address is undefined
 * (on Arm's EHABI unwinder: at a function marked "cannot unwind").
 *
 * Built where <execinfo.h> exists (glibc).
 */
#include <execinfo.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unwind.h>

#include "coro.h"

/* Far more than a coroutine's few frames: a walk that fills it did not stop. */
#define MAX_FRAMES 64

#if (defined(__x86_64__) && !defined(_WIN64)) || defined(__aarch64__) || (defined(__riscv) && __riscv_xlen == 64) || \
    defined(__arm__)
#define WALKS_INTO_RESUMER 1
#else
#define WALKS_INTO_RESUMER 0
#endif

struct walk {
    int frames;
    int lists_entry;   /* the return address into the entry function is listed */
    int lists_resumer; /* the return address into the resumer's caller is listed */
    int unwinder_frames;
    _Unwind_Reason_Code unwinder_result;
};

/* Any code but _URC_NO_REASON stops a walk; Arm's EHABI unwinder has no
 * _URC_NORMAL_STOP. It ends every walk, the thread's own stack's too (at
 * _start), with _URC_FAILURE when it meets an entry that says "cannot
 * unwind" (GCC bug 49404): frames < MAX_FRAMES is what tells that end from
 * the callback's stop there. */
#if defined(__ARM_EABI_UNWINDER__)
#define STOP_WALK _URC_FAILURE
#define END_OF_WALK _URC_FAILURE
#else
#define STOP_WALK _URC_NORMAL_STOP
#define END_OF_WALK _URC_END_OF_STACK
#endif

/* A Thumb return address carries the Thumb bit; the unwinder reports the
 * bare address. */
#if defined(__thumb__)
#define CODE_ADDRESS(p) ((void *)((uintptr_t)(p) & ~(uintptr_t)1))
#else
#define CODE_ADDRESS(p) (p)
#endif

static _Unwind_Reason_Code count_frame(struct _Unwind_Context *context, void *arg)
{
    (void)context;
    int *frames = arg;
    return ++*frames < MAX_FRAMES ? _URC_NO_REASON : STOP_WALK;
}

/* The return address from resume_walking() into the test, which a walk
 * that reaches the resumer lists. */
static void *into_resumer_caller;

/* Not inlined, so that its return address lies inside the entry function
 * that called it. */
__attribute__((noinline)) static void walk_stack(struct walk *walk)
{
    void *frames[MAX_FRAMES];
    void *into_entry = CODE_ADDRESS(__builtin_extract_return_addr(__builtin_return_address(0)));
    walk->frames = backtrace(frames, MAX_FRAMES);
    walk->lists_entry = 0;
    walk->lists_resumer = 0;
    for (int i = 0; i < walk->frames; i++) {
        if (frames[i] == into_entry)
            walk->lists_entry = 1;
        if (frames[i] == into_resumer_caller)
            walk->lists_resumer = 1;
    }
    walk->unwinder_frames = 0;
    walk->unwinder_result = _Unwind_Backtrace(count_frame, &walk->unwinder_frames);
}

/* Walks once on the first run and once after a yield. Neither call is a
 * tail call: each is followed by more work. */
__attribute__((noinline)) static void *walking_entry(void *value)
{
    struct walk *walks = value;
    walk_stack(&walks[0]);
    coro_yield(NULL, NULL);
    walk_stack(&walks[1]);
    return &walks[1];
}

/* Resumes co as the test's resumer: notes where it returns to first, from
 * its own backtrace (frame 1: its caller), and is no tail call, so that its
 * frame is there while co runs. */
__attribute__((noinline)) static int resume_walking(coro *co, void *value, void **result)
{
    /* Its own return address, not backtrace()'s second frame: the
     * sanitizers intercept backtrace() and add a frame of their own. */
    into_resumer_caller = CODE_ADDRESS(__builtin_extract_return_addr(__builtin_return_address(0)));
    int status = coro_resume(co, value, result);
    __asm__ volatile("" ::: "memory");
    return status;
}

static void test_backtrace_stops_at_the_root(void **state)
{
    (void)state;
    struct walk walks[2] = {{0}, {0}};
    coro *co;
    assert_int_equal(coro_create(&co, walking_entry, NULL), CORO_OK);
    assert_int_equal(resume_walking(co, walks, NULL), CORO_OK);
    void *result;
    assert_int_equal(resume_walking(co, NULL, &result), CORO_OK);
    assert_ptr_equal(result, &walks[1]);
    for (int i = 0; i < 2; i++) {
        print_message("walk %d: backtrace() %d frames, unwinder %d frames\n", i, walks[i].frames,
                      walks[i].unwinder_frames);
        assert_true(walks[i].frames >= 2);
        assert_true(walks[i].frames < MAX_FRAMES);
        assert_true(walks[i].lists_entry);
        assert_int_equal(walks[i].lists_resumer, WALKS_INTO_RESUMER);
        assert_int_equal(walks[i].unwinder_result, END_OF_WALK);
        assert_true(walks[i].unwinder_frames < MAX_FRAMES);
    }
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* A hand-off hook runs on a frame of its own at the bottom of the target's
 * stack: a walk from inside it ends there too, and never follows the
 * caller, which may already run elsewhere. */
__attribute__((noinline)) static void walking_hook(void *arg, coro *from)
{
    (void)from;
    walk_stack(arg);
}

static void *yield_twice(void *value)
{
    coro_yield(value, NULL);
    return value;
}

static void test_backtrace_in_a_hook_stops_at_its_root(void **state)
{
    (void)state;
    struct walk walks[2] = {{0}, {0}};
    coro *co;
    assert_int_equal(coro_create(&co, yield_twice, NULL), CORO_OK);
    /* Into a fresh coroutine, then into one suspended in a yield. */
    assert_int_equal(coro_resume_with(co, NULL, NULL, walking_hook, &walks[0]), CORO_OK);
    assert_int_equal(coro_resume_with(co, NULL, NULL, walking_hook, &walks[1]), CORO_OK);
    assert_int_equal(coro_status(co), CORO_DEAD);
    /* The same walk from here, on the thread's stack below cmocka and main:
     * a walk that went on into the caller would be at least this long.
     * Only x86-64 System V's unwind rules lead from a root into a resumer
     * (arch.h); elsewhere every root ends the walk, and the thread's own
     * walk may end as early (at a library built without unwind tables). */
    struct walk here = {0};
    walking_hook(&here, NULL);
#if defined(__x86_64__) && !defined(_WIN32)
    const int walks_on_into_resumers = 1;
#else
    const int walks_on_into_resumers = 0;
#endif
    for (int i = 0; i < 2; i++) {
        print_message("hook walk %d: backtrace() %d frames, unwinder %d frames\n", i, walks[i].frames,
                      walks[i].unwinder_frames);
        assert_true(walks[i].frames >= 2);
        assert_true(walks[i].frames < MAX_FRAMES);
        assert_true(walks[i].lists_entry);
        assert_int_equal(walks[i].unwinder_result, END_OF_WALK);
        if (walks_on_into_resumers)
            assert_true(walks[i].unwinder_frames < here.unwinder_frames);
    }
    assert_int_equal(coro_destroy(co), CORO_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backtrace_stops_at_the_root),
        cmocka_unit_test(test_backtrace_in_a_hook_stops_at_its_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
