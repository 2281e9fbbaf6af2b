/*
 * The stack pool and arenas: reuse without system calls, the limits, trim,
 * thread exit, guards on reused stacks, and CORO_ENOMEM at the system's
 * limits.
 *
 * System calls are counted where the library makes them: this test is
 * linked with --wrap for mmap, munmap, mprotect, madvise, malloc and calloc, so
 * every such call from libcoro's objects passes through a counter below
 * before reaching the C library. Memory given back is read from
 * /proc/self/maps (mapping count) and /proc/self/statm (resident pages).
 */
#define _GNU_SOURCE /* pthread, MADV_* */

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "proc_maps.h"
#include "coro.h"
#include "sanitizer_build.h"

/* Calls libcoro made, per function. */
static atomic_long mmap_calls, munmap_calls, mprotect_calls, madvise_calls, malloc_calls;

void *__real_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
void *__real_mmap64(void *addr, size_t length, int prot, int flags, int fd, long long offset);
int __real_munmap(void *addr, size_t length);
int __real_mprotect(void *addr, size_t length, int prot);
int __real_madvise(void *addr, size_t length, int advice);
void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);

void *__wrap_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
void *__wrap_mmap64(void *addr, size_t length, int prot, int flags, int fd, long long offset);
int __wrap_munmap(void *addr, size_t length);
int __wrap_mprotect(void *addr, size_t length, int prot);
int __wrap_madvise(void *addr, size_t length, int advice);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t count, size_t size);

void *__wrap_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    atomic_fetch_add(&mmap_calls, 1);
    return __real_mmap(addr, length, prot, flags, fd, offset);
}

void *__wrap_mmap64(void *addr, size_t length, int prot, int flags, int fd, long long offset)
{
    atomic_fetch_add(&mmap_calls, 1);
    return __real_mmap64(addr, length, prot, flags, fd, offset);
}

int __wrap_munmap(void *addr, size_t length)
{
    atomic_fetch_add(&munmap_calls, 1);
    return __real_munmap(addr, length);
}

int __wrap_mprotect(void *addr, size_t length, int prot)
{
    atomic_fetch_add(&mprotect_calls, 1);
    return __real_mprotect(addr, length, prot);
}

int __wrap_madvise(void *addr, size_t length, int advice)
{
    atomic_fetch_add(&madvise_calls, 1);
    return __real_madvise(addr, length, advice);
}

void *__wrap_malloc(size_t size)
{
    atomic_fetch_add(&malloc_calls, 1);
    return __real_malloc(size);
}

void *__wrap_calloc(size_t count, size_t size)
{
    atomic_fetch_add(&malloc_calls, 1);
    return __real_calloc(count, size);
}

static long all_calls(void)
{
    return atomic_load(&mmap_calls) + atomic_load(&munmap_calls) + atomic_load(&mprotect_calls)
           + atomic_load(&madvise_calls) + atomic_load(&malloc_calls);
}

/* How many distinct mappings of /proc/self/maps hold the count addresses
 * (0 for an address in none). Unlike a change in mapping_count(), this
 * counts libcoro's own mappings only: the C library's allocator may map
 * memory of its own meanwhile (musl's does, for the arena's bookkeeping). */
static int mappings_holding(void *const *addresses, size_t count)
{
    enum { MAX_LINES = 4096 };
    static uintptr_t starts[MAX_LINES], ends[MAX_LINES];
    static unsigned char used[MAX_LINES];
    FILE *maps = fopen("/proc/self/maps", "r");
    assert_non_null(maps);
    size_t lines = 0;
    char line[512];
    while (lines < MAX_LINES && fgets(line, sizeof line, maps) != NULL) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx", &start, &end) == 2) {
            starts[lines] = start;
            ends[lines] = end;
            used[lines] = 0;
            lines++;
        }
    }
    fclose(maps);
    int holding = 0;
    for (size_t i = 0; i < count; i++)
        for (size_t k = 0; k < lines; k++)
            if ((uintptr_t)addresses[i] >= starts[k] && (uintptr_t)addresses[i] < ends[k]) {
                holding += !used[k];
                used[k] = 1;
                break;
            }
    return holding;
}

/* Whether /proc/self/maps shows every mapping: a user-mode emulator may
 * show its own view (qemu-arm leaves out these very mappings). Two separate
 * mappings of two pages, each with its lower page made inaccessible and
 * mapped with the flags src/stack.c uses, are four mappings, of
 * which at most the two ends can merge with neighbours. */
static int maps_are_exact(void)
{
#if defined(BUILT_WITH_TSAN)
    /* ThreadSanitizer maps shadow and per-fiber memory of its own as the
     * program runs: the count is not libcoro's alone. */
    return 0;
#endif
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    long before = mapping_count();
    char *memory[2];
    for (int i = 0; i < 2; i++) {
        memory[i] = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        assert_true(memory[i] != MAP_FAILED);
        assert_int_equal(mprotect(memory[i], page, PROT_NONE), 0);
    }
    long during = mapping_count();
    for (int i = 0; i < 2; i++)
        munmap(memory[i], 2 * page);
    return during - before >= 2;
}

static long resident_bytes(void)
{
    FILE *statm = fopen("/proc/self/statm", "r");
    assert_non_null(statm);
    long size = 0, resident = 0;
    assert_int_equal(fscanf(statm, "%ld %ld", &size, &resident), 2);
    fclose(statm);
    return resident * sysconf(_SC_PAGESIZE);
}

/* Each test starts and ends with an empty pool of default limits. */
static int fresh_pool(void **state)
{
    (void)state;
    coro_pool_set_limits(CORO_POOL_MAX_STACKS_DEFAULT, CORO_POOL_MAX_BYTES_DEFAULT);
    coro_pool_trim(0);
    return 0;
}

/* Touches `touch` bytes of its stack, then yields. */
static void *toucher(void *arg)
{
    size_t touch = (size_t)(uintptr_t)arg;
    volatile unsigned char *area = touch != 0 ? __builtin_alloca(touch) : NULL;
    for (size_t i = 0; i < touch; i += 64)
        area[i] = (unsigned char)i;
    coro_yield(NULL, NULL);
    return NULL;
}

static void test_reuse_makes_no_system_call(void **state)
{
    (void)state;
    coro *first = NULL;
    assert_int_equal(coro_create(&first, toucher, NULL), CORO_OK);
    assert_int_equal(coro_resume(first, (void *)(uintptr_t)1024, NULL), CORO_OK);
    assert_int_equal(coro_destroy(first), CORO_OK);

    size_t stacks = 0, bytes = 0;
    coro_pool_usage(&stacks, &bytes);
    assert_int_equal(stacks, 1);
    assert_true(bytes >= CORO_STACK_DEFAULT + (size_t)sysconf(_SC_PAGESIZE));

    long before = all_calls();
    for (int i = 0; i < 1000; i++) {
        coro *co = NULL;
        assert_int_equal(coro_create(&co, toucher, NULL), CORO_OK);
        /* The block lives at the top of the stack: same block, same stack. */
        assert_ptr_equal(co, first);
        assert_int_equal(coro_resume(co, (void *)(uintptr_t)1024, NULL), CORO_OK);
        assert_int_equal(coro_destroy(co), CORO_OK);
    }
    assert_int_equal(all_calls(), before);
}

static void test_only_the_same_shape_is_reused(void **state)
{
    (void)state;
    struct coro_options small = {.stack_size = 64 * 1024};
    struct coro_options unguarded = {.guard_size = CORO_NO_GUARD};
    coro *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(coro_create(&a, toucher, &small), CORO_OK);
    assert_int_equal(coro_destroy(a), CORO_OK);

    long before = atomic_load(&mmap_calls);
    assert_int_equal(coro_create(&b, toucher, NULL), CORO_OK);
    assert_int_equal(coro_create(&c, toucher, &unguarded), CORO_OK);
    assert_int_equal(atomic_load(&mmap_calls), before + 2);
    assert_ptr_not_equal(b, a);
    assert_ptr_not_equal(c, a);
    assert_int_equal(coro_destroy(b), CORO_OK);
    assert_int_equal(coro_destroy(c), CORO_OK);

    size_t stacks = 0;
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 3);

    /* A request that rounds to the same pages is the same shape. */
    struct coro_options rounded = {.stack_size = 64 * 1024 - 100};
    assert_int_equal(coro_create(&a, toucher, &rounded), CORO_OK);
    assert_int_equal(atomic_load(&mmap_calls), before + 2);
    assert_int_equal(coro_destroy(a), CORO_OK);
}

static void create_and_destroy(int count, const struct coro_options *opts)
{
    coro *live[16];
    assert_true(count <= 16);
    for (int i = 0; i < count; i++)
        assert_int_equal(coro_create(&live[i], toucher, opts), CORO_OK);
    for (int i = 0; i < count; i++)
        assert_int_equal(coro_destroy(live[i]), CORO_OK);
}

static void test_count_limit(void **state)
{
    (void)state;
    coro_pool_set_limits(3, SIZE_MAX);
    long before = atomic_load(&munmap_calls);
    create_and_destroy(5, NULL);
    size_t stacks = 0;
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 3);
    assert_int_equal(atomic_load(&munmap_calls), before + 2);
}

static void test_byte_limit(void **state)
{
    (void)state;
    struct coro_options opts = {.stack_size = 60 * 1024};
    create_and_destroy(1, &opts);
    size_t one = 0;
    coro_pool_usage(NULL, &one);
    coro_pool_trim(0);

    coro_pool_set_limits(100, 2 * one + one / 2);
    create_and_destroy(6, &opts);
    size_t stacks = 0, bytes = 0;
    coro_pool_usage(&stacks, &bytes);
    assert_int_equal(stacks, 2);
    assert_int_equal(bytes, 2 * one);
}

static void test_lower_limits_unmap_at_once(void **state)
{
    (void)state;
    create_and_destroy(6, NULL);
    size_t stacks = 0;
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 6);

    long before = atomic_load(&munmap_calls);
    coro_pool_set_limits(2, SIZE_MAX);
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 2);
    assert_int_equal(atomic_load(&munmap_calls), before + 4);

    coro_pool_set_limits(0, 0);
    create_and_destroy(3, NULL);
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 0);
}

static void test_at_most_four_shapes(void **state)
{
    (void)state;
    for (size_t kib = 16; kib <= 80; kib += 16) {
        struct coro_options opts = {.stack_size = kib * 1024};
        create_and_destroy(1, &opts);
    }
    size_t stacks = 0;
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 4);
}

static void test_trim_unmaps(void **state)
{
    (void)state;
    int exact = maps_are_exact();
    long before = mapping_count();
    create_and_destroy(8, NULL);
    /* A guarded stack is two mappings, and they stay while pooled (the
     * two ends of the run may merge with neighbours). */
    if (exact)
        assert_true(mapping_count() >= before + 16 - 2);

    long unmapped = atomic_load(&munmap_calls);
    coro_pool_trim(0);
    assert_int_equal(atomic_load(&munmap_calls), unmapped + 8);
    size_t stacks = 1, bytes = 1;
    coro_pool_usage(&stacks, &bytes);
    assert_int_equal(stacks, 0);
    assert_int_equal(bytes, 0);
    if (exact)
        assert_true(mapping_count() <= before);
}

/* Whether madvise(MADV_DONTNEED) really drops pages here: user-mode
 * emulators may accept it and do nothing. */
static int dontneed_drops_pages(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *memory = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(memory != MAP_FAILED);
    memory[0] = 1;
    madvise(memory, page, MADV_DONTNEED);
    int dropped = memory[0] == 0;
    munmap(memory, page);
    return dropped;
}

static void test_trim_drops_pages_of_kept_stacks(void **state)
{
    (void)state;
    if (!dontneed_drops_pages())
        skip();
    const size_t touch = 2 * 1024 * 1024;
    struct coro_options opts = {.stack_size = 4 * 1024 * 1024};
    coro *co = NULL;
    assert_int_equal(coro_create(&co, toucher, &opts), CORO_OK);
    assert_int_equal(coro_resume(co, (void *)(uintptr_t)touch, NULL), CORO_OK);
    coro *pooled = co;
    assert_int_equal(coro_destroy(co), CORO_OK);

    long dirty = resident_bytes();
    coro_pool_trim(1);
    long trimmed = resident_bytes();
    /* Leave a margin for whatever else the process touches meanwhile. */
    assert_true(dirty - trimmed >= (long)(touch * 3 / 4));

    size_t stacks = 0;
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 1);
    assert_int_equal(coro_create(&co, toucher, &opts), CORO_OK);
    assert_ptr_equal(co, pooled);
    assert_int_equal(coro_resume(co, (void *)(uintptr_t)touch, NULL), CORO_OK);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

struct thread_report {
    size_t pooled;
    long munmap_calls_before_exit;
};

static void *pooling_thread(void *arg)
{
    struct thread_report *report = arg;
    create_and_destroy(8, NULL);
    coro_pool_usage(&report->pooled, NULL);
    report->munmap_calls_before_exit = atomic_load(&munmap_calls);
    return NULL;
}

static void test_thread_exit_releases_pool(void **state)
{
    (void)state;
    struct thread_report report = {0, 0};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, pooling_thread, &report), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(report.pooled, 8);
    assert_int_equal(atomic_load(&munmap_calls), report.munmap_calls_before_exit + 8);

    /* The thread's pool was its own. */
    size_t stacks = 1;
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 0);
}

struct handover {
    coro *doomed;
    struct thread_report report;
};

static void *destroying_thread(void *arg)
{
    struct handover *handover = arg;
    assert_int_equal(coro_destroy(handover->doomed), CORO_OK);
    coro_pool_usage(&handover->report.pooled, NULL);
    handover->report.munmap_calls_before_exit = atomic_load(&munmap_calls);
    return NULL;
}

/* A stack joins the pool of the thread that destroys its coroutine. */
static void test_pool_of_the_destroying_thread(void **state)
{
    (void)state;
    struct handover handover = {NULL, {0, 0}};
    assert_int_equal(coro_create(&handover.doomed, toucher, NULL), CORO_OK);
    assert_int_equal(coro_resume(handover.doomed, NULL, NULL), CORO_OK);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, destroying_thread, &handover), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(handover.report.pooled, 1);
    assert_int_equal(atomic_load(&munmap_calls), handover.report.munmap_calls_before_exit + 1);
    size_t stacks = 1;
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 0);
}

/* Recurses until the guard stops it; the bound only keeps compilers from
 * calling the recursion infinite. */
static int dive(int depth)
{
    volatile char frame[256];
    frame[0] = (char)depth;
    if (depth > 1000000)
        return frame[0];
    return dive(depth + 1) + frame[0];
}

static void *overflow(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)dive(0);
}

/* Runs co until it overflows, in a child process; returns how the child ended. */
static int overflow_in_child(coro *co)
{
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        coro_resume(co, NULL, NULL);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    return status;
}

static void test_pooled_stack_keeps_its_guard(void **state)
{
    (void)state;
    struct coro_options opts = {.stack_size = 32 * 1024};
    coro *co = NULL;
    assert_int_equal(coro_create(&co, overflow, &opts), CORO_OK);
    coro *first = co;
    assert_int_equal(coro_destroy(co), CORO_OK);
    assert_int_equal(coro_create(&co, overflow, &opts), CORO_OK);
    assert_ptr_equal(co, first);

    int status = overflow_in_child(co);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

static void test_arena(void **state)
{
    (void)state;
    coro_arena *arena = NULL;
    assert_int_equal(coro_arena_create(&arena, 4, 8 * 1024, CORO_NO_GUARD), CORO_OK);

    struct coro_options opts = {.arena = arena};
    coro *live[4];
    long before = all_calls();
    for (int i = 0; i < 4; i++) {
        assert_int_equal(coro_create(&live[i], toucher, &opts), CORO_OK);
        assert_int_equal(coro_resume(live[i], (void *)(uintptr_t)512, NULL), CORO_OK);
    }
    coro *extra = NULL;
    assert_int_equal(coro_create(&extra, toucher, &opts), CORO_ENOMEM);
    assert_null(extra);
    assert_int_equal(coro_arena_destroy(arena), CORO_EBUSY);

    assert_int_equal(coro_destroy(live[2]), CORO_OK);
    assert_int_equal(coro_create(&extra, toucher, &opts), CORO_OK);
    assert_ptr_equal(extra, live[2]);
    live[2] = extra;
    /* An unguarded arena makes no system call after its creation. */
    assert_int_equal(all_calls(), before);

    struct coro_options shaped = {.arena = arena, .stack_size = 8 * 1024};
    assert_int_equal(coro_create(&extra, toucher, &shaped), CORO_EINVAL);

    for (int i = 0; i < 4; i++)
        assert_int_equal(coro_destroy(live[i]), CORO_OK);
    size_t stacks = 1;
    coro_pool_usage(&stacks, NULL);
    assert_int_equal(stacks, 0);
    assert_int_equal(coro_arena_destroy(arena), CORO_OK);
    assert_int_equal(coro_arena_destroy(NULL), CORO_EINVAL);
    assert_int_equal(coro_arena_create(&arena, 0, 0, 0), CORO_EINVAL);
    assert_int_equal(coro_arena_create(&arena, 1, 100, 0), CORO_ESTACK);
}

static void test_unguarded_arena_is_one_mapping(void **state)
{
    (void)state;
    enum { COUNT = 2000 };
    static coro *live[COUNT];
    coro_arena *arena = NULL;
    assert_int_equal(coro_arena_create(&arena, COUNT, 0, CORO_NO_GUARD), CORO_OK);
    struct coro_options opts = {.arena = arena};
    long calls = all_calls();
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(coro_create(&live[i], toucher, &opts), CORO_OK);
    assert_int_equal(all_calls(), calls);
    /* Every control block (at the top of its stack) in one and the same
     * mapping. */
    assert_int_equal(mappings_holding((void *const *)live, COUNT), 1);
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(coro_destroy(live[i]), CORO_OK);
    assert_int_equal(coro_arena_destroy(arena), CORO_OK);
}

static void test_guarded_arena_guards(void **state)
{
    (void)state;
    coro_arena *arena = NULL;
    assert_int_equal(coro_arena_create(&arena, 3, 16 * 1024, 0), CORO_OK);
    struct coro_options opts = {.arena = arena};
    coro *first = NULL, *second = NULL;
    long before = atomic_load(&mprotect_calls);
    assert_int_equal(coro_create(&first, toucher, &opts), CORO_OK);
    assert_int_equal(coro_create(&second, overflow, &opts), CORO_OK);
    assert_int_equal(atomic_load(&mprotect_calls), before + 2);

    int status = overflow_in_child(second);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);

    /* A reused arena stack keeps the guard it was given at first use. */
    assert_int_equal(coro_destroy(second), CORO_OK);
    assert_int_equal(coro_create(&second, overflow, &opts), CORO_OK);
    assert_int_equal(atomic_load(&mprotect_calls), before + 2);
    assert_int_equal(coro_destroy(first), CORO_OK);
    assert_int_equal(coro_destroy(second), CORO_OK);
    assert_int_equal(coro_arena_destroy(arena), CORO_OK);
}

static void test_enomem_names_the_way_out(void **state)
{
    (void)state;
    /* More than any address space left: 3 GiB on 32-bit targets. */
    struct coro_options huge = {.stack_size = SIZE_MAX / 4 * 3};
    coro *co = NULL;
    assert_int_equal(coro_create(&co, toucher, &huge), CORO_ENOMEM);
    assert_null(co);
    const char *message = coro_strerror(CORO_ENOMEM);
    assert_non_null(strstr(message, "vm.max_map_count"));
    assert_non_null(strstr(message, "unguarded"));
}

/* Reaches the kernel's mapping limit for real when it is the usual default;
 * a system whose limit is far higher is left alone (the test would need
 * that many coroutines). */
static void test_mapping_limit_gives_enomem(void **state)
{
    (void)state;
    long limit = 0;
    FILE *sysctl = fopen("/proc/sys/vm/max_map_count", "r");
    if (sysctl != NULL) {
        if (fscanf(sysctl, "%ld", &limit) != 1)
            limit = 0;
        fclose(sysctl);
    }
    if (limit <= 0 || limit > 200000)
        skip();

    coro_pool_set_limits(0, 0);
    size_t capacity = (size_t)limit;
    coro **live = calloc(capacity, sizeof *live);
    assert_non_null(live);
    /* A one-page guard: with the 64 KiB default, TSan's own allocator runs
     * out of mappings near the limit before libcoro can answer (seen with
     * GCC 12's TSan); the test is about libcoro's answer. */
    struct coro_options opts = {.stack_size = CORO_STACK_MIN, .guard_size = 4096};
    size_t created = 0;
    int result = CORO_OK;
    while (created < capacity && (result = coro_create(&live[created], toucher, &opts)) == CORO_OK)
        created++;
    assert_int_equal(result, CORO_ENOMEM);
    assert_true(created < capacity / 2 + 1);
    assert_true(created > capacity / 4);
    /* Every stack goes back to the system. (Not checked by creating again:
     * under qemu-arm, the emulator keeps what the guest unmaps reserved.) */
    long unmapped = atomic_load(&munmap_calls);
    for (size_t i = 0; i < created; i++)
        assert_int_equal(coro_destroy(live[i]), CORO_OK);
    assert_int_equal(atomic_load(&munmap_calls), unmapped + (long)created);
    free(live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reuse_makes_no_system_call, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_only_the_same_shape_is_reused, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_count_limit, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_byte_limit, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_lower_limits_unmap_at_once, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_at_most_four_shapes, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_trim_unmaps, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_trim_drops_pages_of_kept_stacks, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_thread_exit_releases_pool, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_pool_of_the_destroying_thread, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_pooled_stack_keeps_its_guard, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_arena, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_unguarded_arena_is_one_mapping, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_guarded_arena_guards, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_enomem_names_the_way_out, fresh_pool, fresh_pool),
        cmocka_unit_test_setup_teardown(test_mapping_limit_gives_enomem, fresh_pool, fresh_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
