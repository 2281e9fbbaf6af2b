/*
 * Guard markers and slabs (src/slab.c): which path a process takes, and on
 * the marker path that every guard faults and is reported by name, that
 * guards survive the pool, trim and MADV_DONTNEED / MADV_FREE, that the
 * mapping count stays bounded with 100,000 guarded coroutines alive, and
 * that a freed slab gives its memory back. Linux only (it reads /proc).
 *
 * A page is told to be a guard marker without crashing: populating it
 * (madvise(MADV_POPULATE_WRITE)) fails with EFAULT, where an ordinary page
 * is populated. Real faults run in forked children.
 */
#define _GNU_SOURCE /* MADV_FREE, pthread */

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "proc_maps.h"
#include "coro.h"
#include "child.h"
#include "overflow_report.h"
#include "sanitizer_build.h"
#include "slab.h"
#include "stack.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

static void *page_of(const void *address)
{
    return (void *)((uintptr_t)address & ~(uintptr_t)(page_size() - 1));
}

static int is_guard_marker(const void *address)
{
    return madvise(page_of(address), page_size(), MADV_POPULATE_WRITE) != 0 && errno == EFAULT;
}

/* The test's own answer to the question the library asks once. */
static int markers_expected(void)
{
    const char *forced = getenv("LIBCORO_GUARD");
    if (forced != NULL && strcmp(forced, "mprotect") == 0)
        return 0;
    size_t page = page_size();
    void *probe = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(probe != MAP_FAILED);
    int works = madvise(probe, page, MADV_GUARD_INSTALL) == 0 && is_guard_marker(probe);
    munmap(probe, page);
    return works;
}

/* Sum of /proc/self/maps, in bytes. */
static size_t mapped_bytes(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    assert_non_null(maps);
    size_t bytes = 0;
    char line[512];
    int at_line_start = 1;
    while (fgets(line, sizeof line, maps) != NULL) {
        unsigned long start, end;
        if (at_line_start && sscanf(line, "%lx-%lx", &start, &end) == 2)
            bytes += end - start;
        at_line_start = strchr(line, '\n') != NULL;
    }
    fclose(maps);
    return bytes;
}

/* The mapping of /proc/self/maps that holds address: its start, or 0. */
static uintptr_t mapping_start_of(const void *address)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    assert_non_null(maps);
    uintptr_t found = 0;
    char line[512];
    int at_line_start = 1;
    while (found == 0 && fgets(line, sizeof line, maps) != NULL) {
        unsigned long start, end;
        if (at_line_start && sscanf(line, "%lx-%lx", &start, &end) == 2 && (uintptr_t)address >= start
            && (uintptr_t)address < end)
            found = start;
        at_line_start = strchr(line, '\n') != NULL;
    }
    fclose(maps);
    return found;
}

static long resident_bytes(void)
{
    FILE *statm = fopen("/proc/self/statm", "r");
    assert_non_null(statm);
    long size = 0, resident = 0;
    assert_int_equal(fscanf(statm, "%ld %ld", &size, &resident), 2);
    fclose(statm);
    return resident * (long)page_size();
}

/* Pages from the control block's page down to the first guard marker
 * below it: the stack's whole pages. 0 when no marker is met within limit
 * pages. Makes those pages resident. */
static size_t pages_down_to_guard(const coro *co, size_t limit)
{
    char *page = page_of(co);
    for (size_t pages = 0; pages <= limit; pages++, page -= page_size()) {
        if (is_guard_marker(page))
            return pages;
    }
    return 0;
}

static int fresh_pool(void **state)
{
    (void)state;
    coro_pool_set_limits(CORO_POOL_MAX_STACKS_DEFAULT, CORO_POOL_MAX_BYTES_DEFAULT);
    coro_pool_trim(0);
    return 0;
}

static void skip_without_markers(void)
{
    if (!coro_slab_markers())
        skip();
}

static void *yielder(void *arg)
{
    size_t touch = (size_t)(uintptr_t)arg;
    volatile unsigned char *area = touch != 0 ? __builtin_alloca(touch) : NULL;
    for (size_t i = 0; i < touch; i += 64)
        area[i] = (unsigned char)i;
    coro_yield(NULL, NULL);
    return NULL;
}

static void *overflowing_entry(void *value)
{
    (void)value;
    return (void *)recurse(NULL, 0);
}

/* ---- Which path ---- */

static void test_path_follows_kernel_and_environment(void **state)
{
    (void)state;
    assert_int_equal(coro_slab_markers() != 0, markers_expected());
}

/* Whether /proc/self/maps shows a guard made with mprotect as a mapping of
 * its own: a user-mode emulator may leave PROT_NONE mappings out. */
static int maps_show_mprotected_guards(void)
{
    size_t page = page_size();
    long before = mapping_count();
    char *memory = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(memory != MAP_FAILED);
    assert_int_equal(mprotect(memory + page, page, PROT_NONE), 0);
    long during = mapping_count();
    munmap(memory, 3 * page);
    /* Three parts, of which the two ends may merge with neighbours. */
    return during - before >= 2;
}

/* With LIBCORO_GUARD=mprotect (CI runs the suite so), a guarded stack is
 * a mapping and an mprotect'ed guard again: two mappings. */
static void test_forced_fallback_maps_two_per_stack(void **state)
{
    (void)state;
    if (coro_slab_markers() || BUILT_WITH_TSAN_VALUE || !maps_show_mprotected_guards())
        skip();
    coro_pool_set_limits(0, 0);
    enum { COUNT = 50 };
    coro *live[COUNT];
    long before = mapping_count();
    struct coro_options opts = {.stack_size = CORO_STACK_MIN};
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(coro_create(&live[i], yielder, &opts), CORO_OK);
    assert_true(mapping_count() >= before + 2 * COUNT - 2);
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(coro_destroy(live[i]), CORO_OK);
    assert_true(mapping_count() <= before);
}

/* ---- The marker path ---- */

static void overflow_in_slab_stack(void)
{
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
    /* A neighbour first, so that the overflowing stack is not the slab's
     * first slot: the report must find it among others. */
    struct coro_options options = {.stack_size = 64 * 1024, .name = "slabbed"};
    coro *neighbour, *co;
    if (coro_create(&neighbour, yielder, &options) != CORO_OK || coro_create(&co, overflowing_entry, &options) != CORO_OK)
        _exit(3);
    if (mapping_start_of(neighbour) != mapping_start_of(co) || pages_down_to_guard(co, 32) != 64 * 1024 / page_size() + 1)
        _exit(5);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void test_guard_hit_in_slab_is_reported_by_name(void **state)
{
    (void)state;
    skip_without_markers();
    struct child_result result;
    run_child(overflow_in_slab_stack, CHILD_STDERR, &result);
    if (!WIFSIGNALED(result.status)) {
        print_error("child exited with %d; it wrote:\n%s\n", WIFEXITED(result.status) ? WEXITSTATUS(result.status) : -1,
                    result.output);
        fail();
    }
    assert_int_equal(WTERMSIG(result.status), SIGSEGV);
    assert_one_report(result.output, "libcoro: stack overflow in coroutine \"slabbed\" (stack 64 KiB, fault at 0x");
}

/* A stack too large for a slab is mapped alone, still with a marker. */
static void overflow_in_large_stack(void)
{
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
    struct coro_options options = {.stack_size = CORO_SLAB_MAX_SLOT, .name = "large"};
    coro *co;
    if (coro_create(&co, overflowing_entry, &options) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void test_large_stack_is_one_mapping_with_a_marker(void **state)
{
    (void)state;
    skip_without_markers();
    struct coro_options options = {.stack_size = CORO_SLAB_MAX_SLOT};
    coro *co = NULL;
    long before = mapping_count();
    assert_int_equal(coro_create(&co, yielder, &options), CORO_OK);
    if (!BUILT_WITH_TSAN_VALUE)
        assert_true(mapping_count() <= before + 1);
    assert_int_equal(coro_destroy(co), CORO_OK);
    coro_pool_trim(0);

    struct child_result result;
    run_child(overflow_in_large_stack, CHILD_STDERR, &result);
    assert_true(WIFSIGNALED(result.status));
    assert_int_equal(WTERMSIG(result.status), SIGSEGV);
    char expected[128];
    snprintf(expected, sizeof expected, "libcoro: stack overflow in coroutine \"large\" (stack %zu KiB, fault at 0x",
             (size_t)CORO_SLAB_MAX_SLOT / 1024);
    assert_one_report(result.output, expected);
}

static void overflow_in_reused_stack(void)
{
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
    struct coro_options options = {.stack_size = 32 * 1024, .name = "reused"};
    coro *co;
    if (coro_create(&co, yielder, &options) != CORO_OK)
        _exit(3);
    coro *first = co;
    /* Through the pool, trimmed (MADV_DONTNEED under the kept stack), and
     * back: the same stack. */
    coro_resume(co, (void *)(uintptr_t)(16 * 1024), NULL);
    coro_destroy(co);
    coro_pool_trim(1);
    if (coro_create(&co, overflowing_entry, &options) != CORO_OK || co != first)
        _exit(5);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void test_guard_survives_pool_reuse_and_trim(void **state)
{
    (void)state;
    skip_without_markers();
    struct child_result result;
    run_child(overflow_in_reused_stack, CHILD_STDERR, &result);
    if (!WIFSIGNALED(result.status)) {
        print_error("child exited with %d\n", WIFEXITED(result.status) ? WEXITSTATUS(result.status) : -1);
        fail();
    }
    assert_int_equal(WTERMSIG(result.status), SIGSEGV);
    assert_one_report(result.output, "libcoro: stack overflow in coroutine \"reused\" (stack 32 KiB, fault at 0x");

    /* A stack that left the pool for a slab and came back. */
    coro_pool_set_limits(0, 0);
    coro *co = NULL;
    struct coro_options options = {.stack_size = 32 * 1024};
    assert_int_equal(coro_create(&co, yielder, &options), CORO_OK);
    assert_int_equal(coro_destroy(co), CORO_OK);
    assert_int_equal(coro_create(&co, yielder, &options), CORO_OK);
    assert_int_equal(pages_down_to_guard(co, 64), 32 * 1024 / page_size() + 1);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* What MADV_DONTNEED and MADV_FREE do to markers under them: nothing. */
static void test_markers_survive_dontneed_and_free(void **state)
{
    (void)state;
    skip_without_markers();
    struct coro_stack stack;
    assert_int_equal(coro_stack_map(&stack, 4 * page_size(), 2 * page_size()), CORO_OK);
    memset(stack.bottom, 1, 4 * page_size());
    assert_true(is_guard_marker(stack.mapping));
    assert_true(is_guard_marker((char *)stack.bottom - 1));
    assert_false(is_guard_marker(stack.bottom));

    assert_int_equal(madvise(stack.mapping, stack.mapping_size, MADV_DONTNEED), 0);
    assert_true(is_guard_marker(stack.mapping));
    assert_true(is_guard_marker((char *)stack.bottom - 1));
    assert_int_equal(((volatile char *)stack.bottom)[0], 0); /* the pages did go */
#if defined(MADV_FREE)
    assert_int_equal(madvise(stack.mapping, stack.mapping_size, MADV_FREE), 0);
    assert_true(is_guard_marker(stack.mapping));
    assert_true(is_guard_marker((char *)stack.bottom - 1));
#endif
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        signal(SIGSEGV, SIG_DFL);
        ((volatile char *)stack.bottom)[-1] = 1;
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
    coro_stack_unmap(&stack);
}

/* 100,000 guarded coroutines alive, each with its guard in place, in a
 * handful of mappings (under mprotect they would be 200,000, past Linux's
 * default vm.max_map_count). */
static void test_mapping_count_bounded_with_100000_guarded(void **state)
{
    (void)state;
    skip_without_markers();
    if (BUILT_WITH_TSAN_VALUE)
        skip(); /* a fiber of its runtime per coroutine: too heavy, and its mappings count */
    enum { COUNT = 100000 };
    coro_pool_set_limits(0, 0);
    coro **live = calloc(COUNT, sizeof *live);
    assert_non_null(live);
    long before = mapping_count();
    struct coro_options opts = {.stack_size = CORO_STACK_MIN};
    for (size_t i = 0; i < COUNT; i++)
        assert_int_equal(coro_create(&live[i], yielder, &opts), CORO_OK);
    long during = mapping_count();
    /* Slots of at most 4 pages above the default guard: the slabs needed,
     * and as many again for whatever else the process maps meanwhile. */
    long slabs = (long)((size_t)COUNT * (4 * page_size() + CORO_GUARD_DEFAULT) / CORO_SLAB_BYTES + 1);
    print_message("%d guarded coroutines: %ld mappings more\n", COUNT, during - before);
    assert_true(during - before <= 2 * slabs);
    /* Each has its guard right below its stack: a sample, as the check makes
     * the stack resident. */
    size_t stack_pages = pages_down_to_guard(live[0], 16);
    assert_true(stack_pages * page_size() >= CORO_STACK_MIN);
    for (size_t i = 0; i < COUNT; i += 997)
        assert_int_equal(pages_down_to_guard(live[i], 16), stack_pages);
    for (size_t i = 0; i < COUNT; i++)
        assert_int_equal(coro_destroy(live[i]), CORO_OK);
    free(live);
    assert_true(mapping_count() <= before + 2);
}

/* Slabs emptied by destroys go back: their address space (all but the one
 * kept) and every page their coroutines touched. */
static void test_freed_slab_returns_its_memory(void **state)
{
    (void)state;
    skip_without_markers();
    if (BUILT_WITH_TSAN_VALUE)
        skip(); /* its runtime maps memory for each fiber as it sees fit */
    coro_pool_set_limits(0, 0);
    const size_t touch = 16 * 1024;
    struct coro_options opts = {.stack_size = 64 * 1024};
    size_t per_slab = CORO_SLAB_BYTES / (64 * 1024 + page_size() + CORO_GUARD_DEFAULT);
    size_t count = 3 * per_slab;
    coro **live = calloc(count, sizeof *live);
    assert_non_null(live);
    size_t mapped_before = mapped_bytes();
    long resident_before = resident_bytes();
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(coro_create(&live[i], yielder, &opts), CORO_OK);
        assert_int_equal(coro_resume(live[i], (void *)(uintptr_t)touch, NULL), CORO_OK);
    }
    size_t mapped_during = mapped_bytes();
    long resident_during = resident_bytes();
    /* Three slabs; an empty one of another shape, kept from before, may
     * have gone for them. */
    assert_true(mapped_during >= mapped_before + 2 * CORO_SLAB_BYTES);
    assert_true(resident_during - resident_before >= (long)(count * touch));

    for (size_t i = 0; i < count; i++)
        assert_int_equal(coro_destroy(live[i]), CORO_OK);
    free(live);
    /* At most one empty slab is kept, and it holds no stack's pages. */
    size_t mapped_after = mapped_bytes();
    assert_true(mapped_after + 2 * CORO_SLAB_BYTES <= mapped_during);
    assert_true(mapped_after <= mapped_before + CORO_SLAB_BYTES);
    /* ASan's shadow of each stack (an eighth of it, unpoisoned at destroy)
     * stays resident: that is the sanitizer's memory, not the stacks'. */
    long shadow = BUILT_WITH_ASAN_VALUE ? (long)(count * opts.stack_size / 8) : 0;
    assert_true(resident_bytes() - resident_before <= (long)(count * touch / 8) + shadow);
}

/* A guarded arena is one mapping, its guards markers. */
static void test_guarded_arena_is_one_mapping(void **state)
{
    (void)state;
    skip_without_markers();
    enum { COUNT = 2000 };
    static coro *live[COUNT];
    long before = mapping_count();
    coro_arena *arena = NULL;
    assert_int_equal(coro_arena_create(&arena, COUNT, 16 * 1024, 0), CORO_OK);
    struct coro_options opts = {.arena = arena};
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(coro_create(&live[i], yielder, &opts), CORO_OK);
    /* One for the arena; a few more for what a sanitizer's allocator maps
     * meanwhile; 2,000 guards split nothing. */
    if (!BUILT_WITH_TSAN_VALUE)
        assert_true(mapping_count() <= before + 8);
    for (int i = 0; i < COUNT; i += 199)
        assert_int_equal(pages_down_to_guard(live[i], 16), pages_down_to_guard(live[0], 16));
    assert_true(pages_down_to_guard(live[0], 16) * page_size() >= 16 * 1024);
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(coro_destroy(live[i]), CORO_OK);
    assert_int_equal(coro_arena_destroy(arena), CORO_OK);
}

/* Slabs are shared: a stack carved on one thread goes back on another. */
struct handover {
    coro *doomed[64];
};

static void *destroying_thread(void *arg)
{
    struct handover *handover = arg;
    coro_pool_set_limits(0, 0);
    for (int i = 0; i < 64; i++)
        assert_int_equal(coro_destroy(handover->doomed[i]), CORO_OK);
    return NULL;
}

static void test_stack_freed_on_another_thread(void **state)
{
    (void)state;
    skip_without_markers();
    coro_pool_set_limits(0, 0);
    struct handover handover;
    struct coro_options opts = {.stack_size = 20 * 1024};
    for (int i = 0; i < 64; i++)
        assert_int_equal(coro_create(&handover.doomed[i], yielder, &opts), CORO_OK);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, destroying_thread, &handover), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    /* The slots are free again: the next creates reuse them, guards and all. */
    coro *co = NULL;
    assert_int_equal(coro_create(&co, yielder, &opts), CORO_OK);
    int reused = 0;
    for (int i = 0; i < 64; i++)
        reused |= co == handover.doomed[i];
    assert_true(reused);
    assert_int_equal(pages_down_to_guard(co, 16), 20 * 1024 / page_size() + 1);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_path_follows_kernel_and_environment, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_forced_fallback_maps_two_per_stack, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_guard_hit_in_slab_is_reported_by_name, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_large_stack_is_one_mapping_with_a_marker, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_guard_survives_pool_reuse_and_trim, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_markers_survive_dontneed_and_free, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_mapping_count_bounded_with_100000_guarded, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_freed_slab_returns_its_memory, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_guarded_arena_is_one_mapping, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_stack_freed_on_another_thread, fresh_pool, fresh_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
