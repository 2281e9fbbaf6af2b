/*
 * The cost of creating and destroying a coroutine, for libcoro's pooled and
 * unpooled paths and for what other libraries do: Boost.Context's
 * make_fcontext and ucontext's makecontext, each on a malloc'd stack with no
 * guard. Every implementation runs in the same process, interleaved: each
 * repetition runs one batch of each, so a noisy neighbour hits all alike.
 * Prints median and minimum ns per create+destroy over the repetitions, and
 * the median's ratio to libcoro's pooled path.
 *
 * "fresh" keeps up to 1,000 coroutines alive with the pool off, so that every
 * create takes a stack the system just gave: run it also with
 * LIBCORO_GUARD=mprotect to compare guard markers with mprotect'ed guards.
 *
 * A second group resumes the coroutine once before destroying it, touching
 * --touch bytes of its stack, with and without madvise of the dirtied pages
 * at destroy: the measurement behind the pool not dropping pages by default.
 *
 *   create_destroy [--reps R] [--iterations N] [--stack BYTES] [--touch BYTES]
 *                  [--only TEXT] [--csv]
 *
 * --only runs just the implementations whose name contains TEXT (for
 * bench/callgrind.sh, which needs the work to grow with --iterations only).
 */
#define _GNU_SOURCE /* ucontext, MADV_FREE */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#if defined(HAVE_UCONTEXT)
#include <ucontext.h>
#endif

#include "clock.h"
#include "coro.h"
#include "slab.h" /* which guards this process uses, for the heading */

#if defined(HAVE_BOOST_CONTEXT)
/* Boost.Context's C-linkage core (boost/context/detail/fcontext.hpp),
 * declared here so that a C program can call it. */
typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;
transfer_t jump_fcontext(fcontext_t to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));
#endif

static size_t stack_size = CORO_STACK_DEFAULT;
static size_t touch_bytes = 16 * 1024;

/* Defeats dead-store elimination of what each iteration produces. */
static void *volatile sink;

static void *idle_entry(void *value)
{
    return value;
}

static void fail(const char *what, int result)
{
    fprintf(stderr, "create_destroy: %s: %s\n", what, coro_strerror(result));
    exit(1);
}

static void libcoro_pooled(size_t iterations)
{
    struct coro_options opts = {.stack_size = stack_size};
    for (size_t i = 0; i < iterations; i++) {
        coro *co;
        int result = coro_create(&co, idle_entry, &opts);
        if (result != CORO_OK)
            fail("coro_create", result);
        sink = co;
        coro_destroy(co);
    }
}

static void libcoro_unpooled(size_t iterations)
{
    coro_pool_set_limits(0, 0);
    libcoro_pooled(iterations);
    coro_pool_set_limits(CORO_POOL_MAX_STACKS_DEFAULT, CORO_POOL_MAX_BYTES_DEFAULT);
}

/* Coroutines that stay alive a while, as many long-lived ones are made:
 * batches of FRESH_BATCH created with the pool off, then all destroyed.
 * Every create gets a stack no coroutine used since it was last returned
 * to the system: a new mapping and guard (mmap + mprotect), or, with guard
 * markers, a slab's slot (its marker installed unless its slab kept it). */
#define FRESH_BATCH 1000

static void libcoro_fresh(size_t iterations)
{
    static coro *live[FRESH_BATCH];
    struct coro_options opts = {.stack_size = stack_size};
    coro_pool_set_limits(0, 0);
    for (size_t done = 0; done < iterations;) {
        size_t batch = iterations - done < FRESH_BATCH ? iterations - done : FRESH_BATCH;
        for (size_t i = 0; i < batch; i++) {
            int result = coro_create(&live[i], idle_entry, &opts);
            if (result != CORO_OK)
                fail("coro_create", result);
        }
        for (size_t i = 0; i < batch; i++)
            coro_destroy(live[i]);
        done += batch;
    }
    coro_pool_set_limits(CORO_POOL_MAX_STACKS_DEFAULT, CORO_POOL_MAX_BYTES_DEFAULT);
}

static void libcoro_arena(size_t iterations)
{
    static coro_arena *arena;
    if (arena == NULL) {
        int result = coro_arena_create(&arena, 1, stack_size, CORO_NO_GUARD);
        if (result != CORO_OK)
            fail("coro_arena_create", result);
    }
    struct coro_options opts = {.arena = arena};
    for (size_t i = 0; i < iterations; i++) {
        coro *co;
        int result = coro_create(&co, idle_entry, &opts);
        if (result != CORO_OK)
            fail("coro_create", result);
        sink = co;
        coro_destroy(co);
    }
}

#if defined(HAVE_BOOST_CONTEXT)
static void fcontext_entry(transfer_t from)
{
    jump_fcontext(from.fctx, from.data);
}

static void boost_fcontext(size_t iterations)
{
    for (size_t i = 0; i < iterations; i++) {
        char *stack = malloc(stack_size);
        if (stack == NULL)
            exit(1);
        sink = make_fcontext(stack + stack_size, stack_size, fcontext_entry);
        free(stack);
    }
}
#endif

#if defined(HAVE_UCONTEXT)
static void ucontext_entry(void)
{
}

/* Out of line: getcontext() returns twice, which would put the caller's
 * loop counter at risk. */
static __attribute__((noinline)) void ucontext_make(ucontext_t *context, char *stack)
{
    if (getcontext(context) != 0)
        exit(1);
    context->uc_stack.ss_sp = stack;
    context->uc_stack.ss_size = stack_size;
    context->uc_link = NULL;
    makecontext(context, ucontext_entry, 0);
}

static void ucontext_malloc(size_t iterations)
{
    static ucontext_t context;
    for (size_t i = 0; i < iterations; i++) {
        char *stack = malloc(stack_size);
        if (stack == NULL)
            exit(1);
        ucontext_make(&context, stack);
        sink = &context;
        free(stack);
    }
}
#endif

/* Dirties touch_bytes of its stack and yields the lowest and highest
 * addresses it touched (a local in its own frame). */
static void *touching_entry(void *value)
{
    volatile unsigned char *area = __builtin_alloca(touch_bytes);
    for (size_t i = 0; i < touch_bytes; i += 64)
        area[i] = (unsigned char)i;
    uintptr_t *range = value;
    range[0] = (uintptr_t)area;
    range[1] = (uintptr_t)&range;
    coro_yield(NULL, NULL);
    return NULL;
}

/* One pooled create, resume and destroy; advice, when not 0, is given for
 * the pages the coroutine dirtied below its top page, as the pool would if
 * it dropped pages at every destroy. */
static void touched_round(int advice)
{
    coro *co;
    struct coro_options opts = {.stack_size = stack_size};
    int result = coro_create(&co, touching_entry, &opts);
    if (result != CORO_OK)
        fail("coro_create", result);
    uintptr_t range[2];
    coro_resume(co, range, NULL);
    coro_destroy(co);
    if (advice != 0) {
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t low = range[0] & ~(page - 1);
        uintptr_t high = range[1] & ~(page - 1);
        if (high > low)
            madvise((void *)low, high - low, advice);
    }
}

static void pooled_touched(size_t iterations)
{
    for (size_t i = 0; i < iterations; i++)
        touched_round(0);
}

static void pooled_touched_dontneed(size_t iterations)
{
    for (size_t i = 0; i < iterations; i++)
        touched_round(MADV_DONTNEED);
}

#if defined(MADV_FREE)
static void pooled_touched_free(size_t iterations)
{
    for (size_t i = 0; i < iterations; i++)
        touched_round(MADV_FREE);
}
#endif

struct implementation {
    const char *name;
    void (*run)(size_t iterations);
    size_t divisor;     /* slow paths run this many times fewer iterations */
    int group;          /* 0: create+destroy; 1: create+resume+destroy */
    double *samples;
};

static struct implementation implementations[] = {
    {"libcoro pooled (guard page)", libcoro_pooled, 1, 0, NULL},
    {"libcoro unpooled (guard page)", libcoro_unpooled, 200, 0, NULL},
    {"libcoro fresh, batches of 1000", libcoro_fresh, 200, 0, NULL},
    {"libcoro arena (no guard)", libcoro_arena, 1, 0, NULL},
#if defined(HAVE_BOOST_CONTEXT)
    {"boost make_fcontext (malloc)", boost_fcontext, 1, 0, NULL},
#endif
#if defined(HAVE_UCONTEXT)
    {"ucontext makecontext (malloc)", ucontext_malloc, 4, 0, NULL},
#endif
    {"libcoro pooled + resume", pooled_touched, 10, 1, NULL},
    {"  + MADV_DONTNEED at destroy", pooled_touched_dontneed, 50, 1, NULL},
#if defined(MADV_FREE)
    {"  + MADV_FREE at destroy", pooled_touched_free, 50, 1, NULL},
#endif
};

#define IMPLEMENTATIONS (sizeof implementations / sizeof implementations[0])

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof *values, by_value);
    return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

static void usage(void)
{
    fprintf(stderr, "usage: create_destroy [--reps R] [--iterations N] [--stack BYTES] [--touch BYTES] [--only TEXT] [--csv]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int reps = 7;
    size_t iterations = 200000;
    int csv = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
            iterations = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--stack") == 0 && i + 1 < argc)
            stack_size = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--touch") == 0 && i + 1 < argc)
            touch_bytes = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--csv") == 0)
            csv = 1;
        else
            usage();
    }
    if (reps < 1 || iterations < 200 || stack_size < CORO_STACK_MIN || touch_bytes + 4096 > stack_size)
        usage();

    size_t count = 0;
    for (size_t k = 0; k < IMPLEMENTATIONS; k++) {
        if (only != NULL && strstr(implementations[k].name, only) == NULL)
            continue;
        implementations[count] = implementations[k];
        implementations[count].samples = calloc((size_t)reps, sizeof(double));
        if (implementations[count].samples == NULL)
            return 1;
        /* Warm up: fill the pool, the heap and the caches once. A fixed
         * count, so that it cancels out of bench/callgrind.sh's difference. */
        implementations[count].run(100);
        count++;
    }
    if (count == 0)
        usage();
    for (int r = 0; r < reps; r++) {
        for (size_t k = 0; k < count; k++) {
            size_t n = iterations / implementations[k].divisor;
            double start = now_ns();
            implementations[k].run(n);
            implementations[k].samples[r] = (now_ns() - start) / (double)n;
        }
    }

    double base[2] = {0, 0};
    double medians[IMPLEMENTATIONS], minimums[IMPLEMENTATIONS];
    for (size_t k = 0; k < count; k++) {
        medians[k] = median(implementations[k].samples, reps);
        minimums[k] = implementations[k].samples[0];
        if (base[implementations[k].group] == 0)
            base[implementations[k].group] = medians[k];
    }

    if (csv) {
        printf("group,implementation,median_ns,min_ns,ratio\n");
        for (size_t k = 0; k < count; k++) {
            const char *name = implementations[k].name;
            while (*name == ' ')
                name++;
            printf("%s,%s,%.2f,%.2f,%.3f\n", implementations[k].group ? "create+resume+destroy" : "create+destroy",
                   name, medians[k], minimums[k], medians[k] / base[implementations[k].group]);
        }
        return 0;
    }
    printf("create_destroy: %d repetitions interleaved, %zu usable stack bytes", reps, stack_size);
#if !defined(HAVE_BOOST_CONTEXT)
    printf("; boost fcontext skipped (libboost-context not found at build time)");
#endif
#if !defined(HAVE_UCONTEXT)
    printf("; ucontext skipped (no makecontext)");
#endif
    printf("; resume dirties %zu bytes\n", touch_bytes);
    printf("guards: %s\n", coro_slab_markers() ? "page-table markers, stacks carved from slabs (MADV_GUARD_INSTALL)"
                                                : "mprotect, a mapping per stack (LIBCORO_GUARD=mprotect, or no MADV_GUARD_INSTALL)");
    for (int group = 0; group < 2; group++) {
        if (base[group] == 0)
            continue;
        printf("\n%-34s %10s %10s %8s\n", group == 0 ? "ns per create+destroy" : "ns per create+resume+destroy",
               "median", "min", "ratio");
        for (size_t k = 0; k < count; k++) {
            if (implementations[k].group != group)
                continue;
            printf("%-34s %10.1f %10.1f %7.2fx\n", implementations[k].name, medians[k], minimums[k],
                   medians[k] / base[group]);
        }
    }
    return 0;
}
