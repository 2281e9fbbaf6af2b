/*
 * The default guard and what depends on it: a frame of up to
 * CORO_GUARD_DEFAULT bytes that skips past its stack faults in the guard
 * (the overflow report proves where); the pool counts usable bytes, not
 * guards, at its exact limit; a pooled stack is reused only with the guard
 * it was mapped with; arena sizes that overflow are refused; a fault on a
 * caller-supplied stack is not taken for an overflow. Faults run in forked
 * children.
 */
#define _DEFAULT_SOURCE

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "coro.h"
#include "child.h"

#define V(n) ((void *)(uintptr_t)(n))

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

static void assert_died_by_sigsegv(const struct child_result *result)
{
    if (!WIFSIGNALED(result->status) || WTERMSIG(result->status) != SIGSEGV) {
        print_error("child did not die by SIGSEGV (status %#x); it wrote:\n%s\n", result->status, result->output);
        fail();
    }
}

static void start_child(void)
{
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
}

/* A frame just under CORO_GUARD_DEFAULT, written at its lowest byte first,
 * from a stack far smaller than it: the write lands below the stack's
 * bottom, and must land in the guard. */
#define BIG_FRAME (CORO_GUARD_DEFAULT - 1024)

__attribute__((noinline)) static void big_frame(void)
{
    volatile char frame[BIG_FRAME];
    /* The array's address escapes, so it is laid out whole: otherwise clang
     * places the two bytes it touches next to each other. */
    __asm__ volatile("" : : "r"(frame) : "memory");
    frame[0] = 1;
    frame[BIG_FRAME - 1] = frame[0];
}

static void *run_big_frame(void *value)
{
    (void)value;
    big_frame();
    return NULL;
}

static void big_frame_in_default_guard(void)
{
    start_child();
    struct coro_options opts = {.stack_size = 16 * 1024, .name = "big"};
    coro *co;
    if (coro_create(&co, run_big_frame, &opts) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void test_default_guard_catches_a_frame_under_its_size(void **state)
{
    (void)state;
    static struct child_result result;
    run_child(big_frame_in_default_guard, CHILD_STDERR, &result);
    assert_died_by_sigsegv(&result);
    const char *report = "libcoro: stack overflow in coroutine \"big\" (stack 16 KiB, fault at 0x";
    if (strncmp(result.output, report, strlen(report)) != 0) {
        print_error("expected the fault in the guard; got:\n%s\n", result.output);
        fail();
    }
}

/* ---- the pool counts usable bytes ---- */

static void *return_value(void *value)
{
    return value;
}

static void create_and_destroy(const struct coro_options *opts)
{
    coro *co;
    assert_int_equal(coro_create(&co, return_value, opts), CORO_OK);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

static int reset_pool(void **state)
{
    (void)state;
    coro_pool_trim(0);
    coro_pool_set_limits(CORO_POOL_MAX_STACKS_DEFAULT, CORO_POOL_MAX_BYTES_DEFAULT);
    return 0;
}

static void test_pool_bytes_exclude_guards(void **state)
{
    (void)state;
    size_t small_guard = 0, big_guard = 0, stacks = 0;
    struct coro_options opts = {.stack_size = 64 * 1024, .guard_size = page_size()};
    create_and_destroy(&opts);
    coro_pool_usage(&stacks, &small_guard);
    assert_int_equal(stacks, 1);
    coro_pool_trim(0);
    opts.guard_size = 1024 * 1024;
    create_and_destroy(&opts);
    coro_pool_usage(&stacks, &big_guard);
    assert_int_equal(stacks, 1);
    assert_int_equal(small_guard, big_guard);
    /* usable bytes: the size asked, and the bookkeeping, rounded to pages */
    assert_true(big_guard >= 64 * 1024 && big_guard <= 64 * 1024 + page_size());
}

/* A byte limit of exactly one stack keeps one stack: the bound is
 * inclusive. */
static void test_pool_byte_limit_is_inclusive(void **state)
{
    (void)state;
    struct coro_options opts = {.stack_size = 32 * 1024};
    create_and_destroy(&opts);
    size_t one = 0, stacks = 0;
    coro_pool_usage(NULL, &one);
    coro_pool_trim(0);
    coro_pool_set_limits(10, one);
    create_and_destroy(&opts);
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 1);
    coro_pool_trim(0);
    coro_pool_set_limits(10, one - 1);
    create_and_destroy(&opts);
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 0);
}

/* Lowering the byte limit unmaps pooled stacks down to it. */
static void test_lower_byte_limit_unmaps(void **state)
{
    (void)state;
    struct coro_options opts = {.stack_size = 32 * 1024};
    coro *cos[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(coro_create(&cos[i], return_value, &opts), CORO_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(coro_destroy(cos[i]), CORO_OK);
    size_t stacks = 0, bytes = 0;
    coro_pool_usage(&stacks, &bytes);
    assert_int_equal(stacks, 3);
    coro_pool_set_limits(100, bytes / 3);
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 1);
}

/* Two shapes of the same mapping size (a page more stack, a page less
 * guard) are different shapes: a pooled stack never comes back with a
 * smaller guard than asked. */
static void test_pool_matches_the_guard_too(void **state)
{
    (void)state;
    size_t page = page_size();
    struct coro_options wide = {.stack_size = 16 * page, .guard_size = 2 * page};
    struct coro_options narrow = {.stack_size = 17 * page, .guard_size = page};
    size_t wide_bytes = 0, narrow_bytes = 0, bytes = 0;
    create_and_destroy(&narrow);
    coro_pool_usage(NULL, &narrow_bytes);
    coro_pool_trim(0);
    create_and_destroy(&wide);
    coro_pool_usage(NULL, &wide_bytes);
    assert_true(narrow_bytes == wide_bytes + page);
    size_t stacks = 0;
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 1);
    coro *co;
    assert_int_equal(coro_create(&co, return_value, &narrow), CORO_OK);
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 1); /* the wide one is still pooled */
    assert_int_equal(coro_destroy(co), CORO_OK);
    coro_pool_usage(&stacks, &bytes);
    assert_int_equal(stacks, 2);
    assert_int_equal(bytes, wide_bytes + narrow_bytes); /* each kept as its own shape */
    assert_int_equal(coro_create(&co, return_value, &wide), CORO_OK);
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 1); /* its own shape is reused */
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* ---- arena sizes ---- */

/* count * slot that wraps to a small product must not make a small arena:
 * each slot here is two pages (one of stack, one for the bookkeeping that
 * does not fit beside it), so the product wraps to exactly one slot. */
static void test_arena_count_that_overflows(void **state)
{
    (void)state;
    size_t page = page_size();
    size_t slot = 2 * page;
    coro_arena *arena = V(1);
    assert_int_equal(coro_arena_create(&arena, SIZE_MAX / slot + 2, page, CORO_NO_GUARD), CORO_ENOMEM);
    assert_int_equal(coro_arena_create(&arena, SIZE_MAX / slot + 1, page, CORO_NO_GUARD), CORO_ENOMEM);
    /* a stack size that wraps once the bookkeeping is added */
    assert_int_equal(coro_arena_create(&arena, 1, SIZE_MAX - 16, CORO_NO_GUARD), CORO_ENOMEM);
    assert_int_equal(coro_arena_create(&arena, 1, SIZE_MAX, CORO_NO_GUARD), CORO_ENOMEM);
    assert_ptr_equal(arena, V(1));
    /* and a sane one of that shape works, one slot each */
    assert_int_equal(coro_arena_create(&arena, 1, page, CORO_NO_GUARD), CORO_OK);
    coro *co, *second;
    struct coro_options opts = {.arena = arena};
    assert_int_equal(coro_create(&co, return_value, &opts), CORO_OK);
    assert_int_equal(coro_create(&second, return_value, &opts), CORO_ENOMEM);
    assert_int_equal(coro_destroy(co), CORO_OK);
    assert_int_equal(coro_arena_destroy(arena), CORO_OK);
}

/* ---- a fault on a caller's stack is not an overflow ---- */
/* (The overflow lookup must not take a caller's stack, which has no
 * mapping, for one whose guard starts at address 0.) */

static _Alignas(64) unsigned char caller_stack[64 * 1024];

static void *touch_null(void *value)
{
    (void)value;
    /* Just above NULL, as a field of a NULL struct pointer would be (a
     * store to NULL itself is stopped by UBSan first). */
    volatile uintptr_t near_null = 16;
    *(volatile char *)near_null = 1;
    return NULL;
}

static void null_write_on_caller_stack(void)
{
    start_child();
    struct coro_options opts = {.stack = caller_stack, .stack_size = sizeof caller_stack, .name = "caller"};
    coro *co;
    if (coro_create(&co, touch_null, &opts) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void test_null_write_on_a_caller_stack_is_not_an_overflow(void **state)
{
    (void)state;
    static struct child_result result;
    run_child(null_write_on_caller_stack, CHILD_STDERR, &result);
    assert_died_by_sigsegv(&result);
    assert_string_equal(result.output, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_guard_catches_a_frame_under_its_size),
        cmocka_unit_test_setup_teardown(test_pool_bytes_exclude_guards, reset_pool, reset_pool),
        cmocka_unit_test_setup_teardown(test_pool_byte_limit_is_inclusive, reset_pool, reset_pool),
        cmocka_unit_test_setup_teardown(test_pool_matches_the_guard_too, reset_pool, reset_pool),
        cmocka_unit_test_setup_teardown(test_lower_byte_limit_unmaps, reset_pool, reset_pool),
        cmocka_unit_test(test_arena_count_that_overflows),
        cmocka_unit_test(test_null_write_on_a_caller_stack_is_not_an_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
