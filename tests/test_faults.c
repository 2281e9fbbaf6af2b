/*
 * Every allocation failure path. A scenario creates a small tree of
 * coroutines, several of them from inside other coroutines, with every kind
 * of stack; the test hook in src/stack.c (built into this test's copy of the
 * library only) makes the nth memory request fail, for every n the scenario
 * makes. Each time exactly one coroutine_create must report CORO_ENOMEM and
 * leave nothing behind, and every other coroutine must run to completion
 * with the right values.
 *
 * Heap leaks are for valgrind or LeakSanitizer to find (the suite runs this
 * test under them in CI); stack mappings are invisible to both, so the test
 * checks the process's address-space size itself where /proc tells it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>

#include "coro.h"
#include "sanitizer_build.h"
#include "slab.h"
#include "stack.h"

enum stack_kind { DEFAULT_STACK, WIDE_GUARD, NO_GUARD, SMALLEST, CALLER_STACK };

/* The scenario: node i is created by its parent (NONE: by the test itself). */
#define NONE (-1)
static const struct {
    enum stack_kind kind;
    int parent;
} tree[] = {
    {DEFAULT_STACK, NONE}, /* 0 */
    {WIDE_GUARD, 0},       /* 1 */
    {NO_GUARD, 1},         /* 2: two levels down */
    {SMALLEST, 2},         /* 3: three levels down */
    {CALLER_STACK, 0},     /* 4 */
    {DEFAULT_STACK, 4},    /* 5: created on a caller-supplied stack */
    {NO_GUARD, NONE},      /* 6 */
    {WIDE_GUARD, 6},       /* 7 */
};
#define NODES (sizeof tree / sizeof tree[0])

static struct {
    coro *handle;
    int create_result;
    int errors; /* wrong values or codes seen inside the coroutine */
} nodes[NODES];
static _Alignas(64) unsigned char caller_stack[64 * 1024];

/* What node i yields the first time and returns at the end. */
static uintptr_t first_value(size_t i) { return 1000 + i; }
static uintptr_t last_value(size_t i) { return 2000 + i; }

static int create_node(size_t i, coro_entry entry)
{
    struct coro_options opts = {0};
    switch (tree[i].kind) {
    case DEFAULT_STACK: break;
    case WIDE_GUARD: opts.guard_size = 3 * 4096; break;
    case NO_GUARD: opts.guard_size = CORO_NO_GUARD; break;
    case SMALLEST: opts.stack_size = CORO_STACK_MIN; break;
    case CALLER_STACK: opts.stack = caller_stack; opts.stack_size = sizeof caller_stack; break;
    }
    coro *created = NULL;
    int result = coro_create(&created, entry, &opts);
    nodes[i].create_result = result;
    nodes[i].handle = result == CORO_OK ? created : NULL;
    return result;
}

/* Runs node i's children through their whole life: created from here,
 * resumed to their first yield, then resumed to their end and destroyed.
 * Returns how many values or codes were wrong. */
static int run_children(size_t parent);

static void *node_entry(void *value)
{
    size_t self = (size_t)(uintptr_t)value;
    void *resumed_with = NULL;
    nodes[self].errors += run_children(self);
    if (coro_yield((void *)first_value(self), &resumed_with) != CORO_OK || resumed_with != value)
        nodes[self].errors++;
    return (void *)last_value(self);
}

static int run_children(size_t parent)
{
    int errors = 0;
    for (size_t i = 0; i < NODES; i++) {
        if (tree[i].parent != (int)parent)
            continue;
        if (create_node(i, node_entry) != CORO_OK)
            continue;
        void *result = NULL;
        if (coro_resume(nodes[i].handle, (void *)(uintptr_t)i, &result) != CORO_OK || result != (void *)first_value(i))
            errors++;
        if (coro_resume(nodes[i].handle, (void *)(uintptr_t)i, &result) != CORO_OK || result != (void *)last_value(i))
            errors++;
        if (coro_status(nodes[i].handle) != CORO_DEAD || coro_destroy(nodes[i].handle) != CORO_OK)
            errors++;
    }
    return errors;
}

/* Address-space size in pages, or 0 where /proc does not tell it: the sum
 * of /proc/self/maps, which is what /proc/self/statm counts natively.
 * Under qemu-user only maps describes the program (statm is the emulator's,
 * which grows with the code it translates). Under ThreadSanitizer 0 too:
 * its runtime maps memory for each coroutine's fiber as it sees fit. */
static unsigned long mapped_pages(void)
{
#if defined(BUILT_WITH_TSAN)
    return 0;
#endif
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL)
        return 0;
    unsigned long bytes = 0;
    char line[256];
    int at_line_start = 1;
    while (fgets(line, sizeof line, maps) != NULL) {
        unsigned long start, end;
        if (at_line_start && sscanf(line, "%lx-%lx", &start, &end) == 2)
            bytes += end - start;
        at_line_start = strchr(line, '\n') != NULL; /* a long path spans several reads */
    }
    fclose(maps);
    return bytes / 4096;
}

static unsigned long requests_made;

/* Runs the scenario with the nth request failing (0: none). Returns how many
 * creates failed, checking that each failure was CORO_ENOMEM. */
static int run_scenario(unsigned long nth)
{
    for (size_t i = 0; i < NODES; i++) {
        nodes[i].handle = NULL;
        nodes[i].create_result = -1;
        nodes[i].errors = 0;
    }
    coro_stack_fault_arm(nth);
    int errors = run_children((size_t)NONE);
    requests_made = coro_stack_fault_calls();
    coro_stack_fault_arm(0);
    assert_int_equal(errors, 0);

    int failed = 0;
    for (size_t i = 0; i < NODES; i++) {
        assert_int_equal(nodes[i].errors, 0);
        if (nodes[i].create_result == CORO_OK || nodes[i].create_result == -1)
            continue;
        if (nodes[i].create_result != CORO_ENOMEM)
            print_error("node %zu: create failed with %d, not CORO_ENOMEM\n", i, nodes[i].create_result);
        assert_int_equal(nodes[i].create_result, CORO_ENOMEM);
        failed++;
    }
    return failed;
}

static void test_every_failing_request_is_enomem_and_harmless(void **state)
{
    (void)state;
    /* The run with no failure tells how many requests the scenario makes,
     * and warms up anything the process maps once (stdio, the thread's
     * context). */
    assert_int_equal(run_scenario(0), 0);
    unsigned long requests = requests_made;
    assert_true(requests >= NODES - 1); /* every node but the caller-stack one asks at least once */
    unsigned long pages_before = mapped_pages();

    for (unsigned long nth = 1; nth <= requests; nth++) {
        assert_int_equal(run_scenario(nth), 1);
        unsigned long pages_after = mapped_pages();
        if (pages_after != pages_before)
            print_error("failing request %lu: %lu pages mapped before, %lu after\n", nth, pages_before,
                        pages_after);
        assert_int_equal(pages_after, pages_before);
    }
    /* One past the last request: nothing fails. */
    assert_int_equal(run_scenario(requests + 1), 0);
    print_message("%lu memory requests, each made to fail in turn\n", requests);
}

/* Right after a refused create, the same create succeeds: a failure leaves
 * no state behind that would make the next request fail. Each round takes a
 * stack shape of its own, which no earlier stack had: with guard markers
 * (src/slab.c) the empty slab of a shape is kept, and a create of that
 * shape then asks the system for nothing. */
static void test_create_after_a_failure_succeeds(void **state)
{
    (void)state;
    coro *co = NULL;
    for (unsigned long nth = 1; nth <= 2; nth++) {
        struct coro_options opts = {.stack_size = (64 + 16 * nth) * 1024};
        coro_stack_fault_arm(nth);
        assert_int_equal(coro_create(&co, node_entry, &opts), CORO_ENOMEM);
        assert_null(co);
        coro_stack_fault_arm(0);
        assert_int_equal(coro_create(&co, node_entry, &opts), CORO_OK);
        assert_int_equal(coro_destroy(co), CORO_OK);
        co = NULL;
    }
}

/* ---- Bookkeeping: the pool, arenas, the overflow report's signal stack ---- */

/* Runs body on a new thread, so that it meets the per-thread state (the
 * pool, the alternate signal stack) fresh, and releases what the thread set
 * up when it exits. */
static void run_on_new_thread(void *(*body)(void *))
{
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, body, NULL), 0);
    void *errors;
    assert_int_equal(pthread_join(thread, &errors), 0);
    assert_int_equal((uintptr_t)errors, 0);
}

static int pool_failures; /* creates refused with CORO_ENOMEM */

static void *return_first(void *value) { return value; }

/* Creates, runs and destroys coroutines three times over with the pool on:
 * the first destroy opens the thread's pool (an allocation and a
 * thread-exit registration), the next creates take stacks from it. A failed
 * bookkeeping request must only cost the pool: the stack is unmapped
 * instead of kept, and everything else works. */
static void *cycle_with_pool(void *unused)
{
    (void)unused;
    uintptr_t errors = 0;
    coro_pool_set_limits(CORO_POOL_MAX_STACKS_DEFAULT, CORO_POOL_MAX_BYTES_DEFAULT);
    for (uintptr_t round = 0; round < 3; round++) {
        coro *co = NULL;
        int created = coro_create(&co, return_first, NULL);
        if (created == CORO_ENOMEM) {
            pool_failures++;
            continue;
        }
        void *result = NULL;
        if (created != CORO_OK || coro_resume(co, (void *)(round + 1), &result) != CORO_OK ||
            result != (void *)(round + 1) || coro_destroy(co) != CORO_OK)
            errors++;
    }
    return (void *)errors;
}

static void test_pool_bookkeeping_failures_are_harmless(void **state)
{
    (void)state;
    coro_stack_fault_arm(0);
    run_on_new_thread(cycle_with_pool);
    unsigned long requests = coro_stack_fault_calls();
    assert_true(requests >= 3); /* a stack, the pool, the thread-exit registration */
    unsigned long pages_before = mapped_pages();
    for (unsigned long nth = 1; nth <= requests; nth++) {
        pool_failures = 0;
        coro_stack_fault_arm(nth);
        run_on_new_thread(cycle_with_pool);
        coro_stack_fault_arm(0);
        assert_true(pool_failures <= 1);
        /* The thread's exit emptied its pool: nothing is left mapped. */
        assert_int_equal(mapped_pages(), pages_before);
    }
    print_message("pool: %lu requests, each made to fail in turn\n", requests);
}

/* An arena with guards: its creation asks for the bookkeeping and the
 * mapping, each stack's first use for its guard. */
static int arena_scenario(void)
{
    coro_arena *arena = NULL;
    int result = coro_arena_create(&arena, 3, 16 * 1024, 0);
    if (result != CORO_OK) {
        assert_int_equal(result, CORO_ENOMEM);
        assert_null(arena);
        return 1;
    }
    int failures = 0;
    coro *cos[3] = {NULL, NULL, NULL};
    struct coro_options opts = {.arena = arena};
    for (uintptr_t i = 0; i < 3; i++) {
        result = coro_create(&cos[i], return_first, &opts);
        if (result != CORO_OK) {
            assert_int_equal(result, CORO_ENOMEM);
            cos[i] = NULL;
            failures++;
            continue;
        }
        void *value = NULL;
        assert_int_equal(coro_resume(cos[i], (void *)(i + 7), &value), CORO_OK);
        assert_int_equal((uintptr_t)value, i + 7);
    }
    for (size_t i = 0; i < 3; i++)
        if (cos[i] != NULL)
            assert_int_equal(coro_destroy(cos[i]), CORO_OK);
    assert_int_equal(coro_arena_destroy(arena), CORO_OK);
    return failures;
}

static void test_arena_failures_are_enomem_and_harmless(void **state)
{
    (void)state;
    coro_stack_fault_arm(0);
    assert_int_equal(arena_scenario(), 0);
    unsigned long requests = coro_stack_fault_calls();
    assert_true(requests >= 2 + 3); /* bookkeeping, mapping, three guards */
    unsigned long pages_before = mapped_pages();
    for (unsigned long nth = 1; nth <= requests; nth++) {
        coro_stack_fault_arm(nth);
        assert_int_equal(arena_scenario(), 1);
        coro_stack_fault_arm(0);
        assert_int_equal(mapped_pages(), pages_before);
    }
    print_message("arena: %lu requests, each made to fail in turn\n", requests);
}

#if defined(__unix__) && !defined(BUILT_WITH_TSAN) && !defined(BUILT_WITH_ASAN)
static int overflow_failures;

/* With the overflow report installed, a thread's first create sets up its
 * alternate signal stack (a mapping, its guard, a thread-exit
 * registration): a failure there refuses the create. */
static void *first_create_on_thread(void *unused)
{
    (void)unused;
    coro_pool_set_limits(0, 0); /* pool limits are per thread: keep its requests out */
    coro *co = NULL;
    int result = coro_create(&co, return_first, NULL);
    if (result == CORO_ENOMEM) {
        overflow_failures++;
        return (void *)(uintptr_t)(co != NULL);
    }
    void *value = NULL;
    uintptr_t errors = result != CORO_OK || coro_resume(co, (void *)5, &value) != CORO_OK || value != (void *)5 ||
                       coro_destroy(co) != CORO_OK;
    return (void *)errors;
}

static void test_signal_stack_failures_are_enomem_and_harmless(void **state)
{
    (void)state;
    assert_int_equal(coro_install_overflow_handler(), CORO_OK);
    /* Twice: the second run is what every later run repeats (with guard
     * markers, the first one leaves an empty slab of its stack's shape,
     * which serves the later ones without a request). */
    run_on_new_thread(first_create_on_thread);
    coro_stack_fault_arm(0);
    run_on_new_thread(first_create_on_thread);
    unsigned long requests = coro_stack_fault_calls();
    /* signal stack, its guard, its registration, and with mprotect'ed
     * guards the coroutine's stack */
    assert_true(requests >= 3u + !coro_slab_markers());
    unsigned long pages_before = mapped_pages();
    for (unsigned long nth = 1; nth <= requests; nth++) {
        overflow_failures = 0;
        coro_stack_fault_arm(nth);
        run_on_new_thread(first_create_on_thread);
        coro_stack_fault_arm(0);
        assert_int_equal(overflow_failures, 1);
        assert_int_equal(mapped_pages(), pages_before);
    }
    print_message("overflow report: %lu requests, each made to fail in turn\n", requests);
}
#else
static void test_signal_stack_failures_are_enomem_and_harmless(void **state)
{
    (void)state;
    /* Sanitizer runtimes give every thread an alternate signal stack of
     * their own, which the report uses as it is: nothing to allocate. */
    print_message("the sanitizer runtime provides the signal stacks here\n");
}
#endif

int main(void)
{
    /* The walk needs every create to ask the system for its stack: with the
     * stack pool on, stacks of earlier runs would come back without a
     * request. (The pool's reuse path makes none at all: test_pool.) */
    coro_pool_set_limits(0, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_failing_request_is_enomem_and_harmless),
        cmocka_unit_test(test_create_after_a_failure_succeeds),
        cmocka_unit_test(test_arena_failures_are_enomem_and_harmless),
        cmocka_unit_test(test_pool_bookkeeping_failures_are_harmless),
        cmocka_unit_test(test_signal_stack_failures_are_enomem_and_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
