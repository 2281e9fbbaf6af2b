/*
 * bench/switch_latency: the cost of one context switch, for libcoro and the
 * libraries it is compared with, measured side by side in one run.
 *
 * Each implementation runs a ping-pong between the thread and one
 * coroutine: a round trip is two switches. The implementations are
 * interleaved over several repetitions (the machine's noise hits them all
 * alike), and the table gives the median and minimum per switch and the
 * ratio of medians to libcoro's resume/yield at the same depth.
 * libcoro-nofpctl is the same library built with -Dfp_control=false (the
 * switch leaves MXCSR and the x87 control word alone), loaded with dlopen
 * and called through pointers.
 *
 * Depth. Programs rarely switch from the loop itself: they call a helper
 * that calls a helper that switches, and check the result. After a switch,
 * each return the resumed context makes through its own frames pops a
 * return-stack-buffer entry that the other stack pushed, so every frame
 * between the loop and the switch adds a mispredicted return per switch, in
 * every library. Depth D puts D non-inlined frames between the loop and the
 * switch on both sides, distinct functions on the two sides (the compiler is
 * kept from folding identical ones: noipa, and -fno-ipa-icf in
 * bench/meson.build), each checking the switch's result as a caller would.
 * Depth 0 is the plain loop.
 *
 *   switch_latency [--iterations N] [--repetitions R] [--only a,b]
 *                  [--depths 0,1,2,8] [--csv]
 */
#if !defined(_WIN32)
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700 /* ucontext under -std=c11 */
#endif

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "coro.h"

/* bench/meson.build defines it where makecontext exists and works. */
#ifdef HAVE_UCONTEXT
#include <ucontext.h>
#endif

#ifdef HAVE_PCL
#include <pcl.h>
#endif

#ifdef HAVE_NOFPCTL_MODULE
#include <dlfcn.h>
#include <unistd.h>
#endif

static long iterations = 1000000;

/*
 * The frames between a loop and its switch. CHAIN(prefix, first) defines
 * prefix_2 .. prefix_8 on top of prefix_1 (which the implementation writes:
 * it switches and checks the result): prefix_k calls prefix_(k-1) and adds
 * k * first to what it returns, so that no two levels, and no two chains,
 * have the same body, and no call is a tail call (the add comes after it).
 * run_at_depth(prefix, depth, n, v) runs n calls at the given depth.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define FRAME __attribute__((noinline, noipa))
#elif defined(__GNUC__)
#define FRAME __attribute__((noinline))
#else
#define FRAME
#endif

#define LEVEL(prefix, k, below, first) \
    static FRAME intptr_t prefix##_##k(intptr_t v) { return prefix##_##below(v) + (intptr_t)(k) * (first); }
#define CHAIN(prefix, first) \
    LEVEL(prefix, 2, 1, first) LEVEL(prefix, 3, 2, first) LEVEL(prefix, 4, 3, first) \
    LEVEL(prefix, 5, 4, first) LEVEL(prefix, 6, 5, first) LEVEL(prefix, 7, 6, first) \
    LEVEL(prefix, 8, 7, first)                                                      \
    static intptr_t prefix##_at_depth(int depth, long n, intptr_t v)                        \
    {                                                                               \
        switch (depth) {                                                            \
        case 1: for (long i = 0; i < n; i++) v = prefix##_1(v); break;              \
        case 2: for (long i = 0; i < n; i++) v = prefix##_2(v); break;              \
        case 3: for (long i = 0; i < n; i++) v = prefix##_3(v); break;              \
        case 4: for (long i = 0; i < n; i++) v = prefix##_4(v); break;              \
        case 5: for (long i = 0; i < n; i++) v = prefix##_5(v); break;              \
        case 6: for (long i = 0; i < n; i++) v = prefix##_6(v); break;              \
        case 7: for (long i = 0; i < n; i++) v = prefix##_7(v); break;              \
        default: for (long i = 0; i < n; i++) v = prefix##_8(v); break;             \
        }                                                                           \
        return v;                                                                   \
    }
#define MAX_DEPTH 8

/* A switch that reports failure: the benchmark stops rather than measure a
 * broken run. */
static void failed(const char *what)
{
    fprintf(stderr, "switch_latency: %s failed\n", what);
    exit(1);
}

/* Keeps the values the loops compute alive. */
static volatile intptr_t sink;

/* ---- libcoro, resume/yield ---- */

static coro *resumed_coroutine;

static FRAME intptr_t resume_side_1(intptr_t v)
{
    void *out;
    if (coro_resume(resumed_coroutine, (void *)v, &out) != CORO_OK)
        failed("coro_resume");
    return (intptr_t)out;
}
CHAIN(resume_side, 3)

static FRAME intptr_t yield_side_1(intptr_t v)
{
    void *in;
    if (coro_yield((void *)v, &in) != CORO_OK)
        failed("coro_yield");
    return (intptr_t)in;
}
CHAIN(yield_side, 5)

/* The first value is the depth to yield from. */
static void *yield_forever(void *value)
{
    int depth = (int)(intptr_t)value;
    if (depth == 0)
        for (;;)
            coro_yield(value, &value);
    yield_side_at_depth(depth, LONG_MAX, 0);
    return NULL;
}

static double bench_libcoro(int depth)
{
    coro *co;
    if (coro_create(&co, yield_forever, NULL) != CORO_OK)
        return -1;
    coro_resume(co, (void *)(intptr_t)depth, NULL);
    resumed_coroutine = co;
    double start = now_ns();
    if (depth == 0)
        for (long i = 0; i < iterations; i++)
            coro_resume(co, NULL, NULL);
    else
        sink = resume_side_at_depth(depth, iterations, 0);
    double elapsed = now_ns() - start;
    coro_destroy(co);
    return elapsed / (2.0 * (double)iterations);
}

/* ---- libcoro, symmetric transfer between the thread and a coroutine ---- */

static coro *transfer_target;
static coro *transfer_thread;

static FRAME intptr_t transfer_out_side_1(intptr_t v)
{
    void *out;
    if (coro_transfer(transfer_target, (void *)v, &out) != CORO_OK)
        failed("coro_transfer");
    return (intptr_t)out;
}
CHAIN(transfer_out_side, 7)

static FRAME intptr_t transfer_back_side_1(intptr_t v)
{
    void *in;
    if (coro_transfer(transfer_thread, (void *)v, &in) != CORO_OK)
        failed("coro_transfer back");
    return (intptr_t)in;
}
CHAIN(transfer_back_side, 11)

static void *transfer_back_forever(void *value)
{
    int depth = (int)(intptr_t)value;
    coro *thread = transfer_thread;
    coro_transfer(thread, NULL, NULL);
    if (depth == 0)
        for (;;)
            coro_transfer(thread, NULL, NULL);
    transfer_back_side_at_depth(depth, LONG_MAX, 0);
    return NULL;
}

static double bench_libcoro_transfer(int depth)
{
    coro *co;
    if (coro_create(&co, transfer_back_forever, NULL) != CORO_OK)
        return -1;
    transfer_thread = coro_thread();
    transfer_target = co;
    coro_transfer(co, (void *)(intptr_t)depth, NULL);
    double start = now_ns();
    if (depth == 0)
        for (long i = 0; i < iterations; i++)
            coro_transfer(co, NULL, NULL);
    else
        sink = transfer_out_side_at_depth(depth, iterations, 0);
    double elapsed = now_ns() - start;
    coro_destroy(co);
    return elapsed / (2.0 * (double)iterations);
}

/* ---- libcoro built with -Dfp_control=false, loaded beside the other ---- */

#ifdef HAVE_NOFPCTL_MODULE
static int (*nofp_create)(coro **, coro_entry, const struct coro_options *);
static int (*nofp_resume)(coro *, void *, void **);
static int (*nofp_yield)(void *, void **);
static int (*nofp_destroy)(coro *);
static const char *nofp_missing = "not loaded";

/* Loads the module from the directory of this executable. */
static void load_nofp_module(void)
{
    char path[4096];
    ssize_t length = readlink("/proc/self/exe", path, sizeof path - 64);
    if (length <= 0)
        return;
    path[length] = '\0';
    char *slash = strrchr(path, '/');
    strcpy(slash != NULL ? slash + 1 : path, HAVE_NOFPCTL_MODULE);
    void *module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (module == NULL) {
        nofp_missing = "the module did not load";
        return;
    }
    /* POSIX guarantees that a function's address survives a trip through void *. */
    *(void **)&nofp_create = dlsym(module, "coro_create");
    *(void **)&nofp_resume = dlsym(module, "coro_resume");
    *(void **)&nofp_yield = dlsym(module, "coro_yield");
    *(void **)&nofp_destroy = dlsym(module, "coro_destroy");
    if (nofp_create && nofp_resume && nofp_yield && nofp_destroy)
        nofp_missing = NULL;
}

static FRAME intptr_t nofp_resume_side_1(intptr_t v)
{
    void *out;
    if (nofp_resume(resumed_coroutine, (void *)v, &out) != CORO_OK)
        failed("coro_resume (nofpctl)");
    return (intptr_t)out;
}
CHAIN(nofp_resume_side, 13)

static FRAME intptr_t nofp_yield_side_1(intptr_t v)
{
    void *in;
    if (nofp_yield((void *)v, &in) != CORO_OK)
        failed("coro_yield (nofpctl)");
    return (intptr_t)in;
}
CHAIN(nofp_yield_side, 17)

static void *nofp_yield_forever(void *value)
{
    int depth = (int)(intptr_t)value;
    if (depth == 0)
        for (;;)
            nofp_yield(value, &value);
    nofp_yield_side_at_depth(depth, LONG_MAX, 0);
    return NULL;
}

static double bench_libcoro_nofpctl(int depth)
{
    coro *co;
    if (nofp_missing != NULL || nofp_create(&co, nofp_yield_forever, NULL) != CORO_OK)
        return -1;
    nofp_resume(co, (void *)(intptr_t)depth, NULL);
    resumed_coroutine = co;
    double start = now_ns();
    if (depth == 0)
        for (long i = 0; i < iterations; i++)
            nofp_resume(co, NULL, NULL);
    else
        sink = nofp_resume_side_at_depth(depth, iterations, 0);
    double elapsed = now_ns() - start;
    nofp_destroy(co);
    return elapsed / (2.0 * (double)iterations);
}
#endif

/* ---- glibc ucontext ---- */

#ifdef HAVE_UCONTEXT
static ucontext_t uc_thread, uc_coroutine;
static int uc_depth;

static FRAME intptr_t uc_out_side_1(intptr_t v)
{
    if (swapcontext(&uc_thread, &uc_coroutine) != 0)
        failed("swapcontext");
    return v + 1;
}
CHAIN(uc_out_side, 19)

static FRAME intptr_t uc_back_side_1(intptr_t v)
{
    if (swapcontext(&uc_coroutine, &uc_thread) != 0)
        failed("swapcontext back");
    return v + 1;
}
CHAIN(uc_back_side, 23)

static void uc_forever(void)
{
    if (uc_depth == 0)
        for (;;)
            swapcontext(&uc_coroutine, &uc_thread);
    uc_back_side_at_depth(uc_depth, LONG_MAX, 0);
}

static double bench_ucontext(int depth)
{
    size_t size = 64 * 1024;
    void *stack = malloc(size);
    if (stack == NULL)
        return -1;
    getcontext(&uc_coroutine);
    uc_coroutine.uc_stack.ss_sp = stack;
    uc_coroutine.uc_stack.ss_size = size;
    uc_coroutine.uc_link = NULL;
    uc_depth = depth;
    makecontext(&uc_coroutine, uc_forever, 0);
    long n = iterations / 10 > 0 ? iterations / 10 : 1; /* a syscall per switch */
    swapcontext(&uc_thread, &uc_coroutine);
    double start = now_ns();
    if (depth == 0)
        for (long i = 0; i < n; i++)
            swapcontext(&uc_thread, &uc_coroutine);
    else
        sink = uc_out_side_at_depth(depth, n, 0);
    double elapsed = now_ns() - start;
    free(stack);
    return elapsed / (2.0 * (double)n);
}
#endif

/* ---- Boost.Context fcontext, through its C-linkage symbols ---- */

#ifdef HAVE_BOOST_CONTEXT
typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;
transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

/* The context each side jumps to next. */
static fcontext_t fc_coroutine, fc_thread;

static FRAME intptr_t fc_out_side_1(intptr_t v)
{
    transfer_t t = jump_fcontext(fc_coroutine, (void *)v);
    if (t.fctx == NULL)
        failed("jump_fcontext");
    fc_coroutine = t.fctx;
    return (intptr_t)t.data;
}
CHAIN(fc_out_side, 29)

static FRAME intptr_t fc_back_side_1(intptr_t v)
{
    transfer_t t = jump_fcontext(fc_thread, (void *)v);
    if (t.fctx == NULL)
        failed("jump_fcontext back");
    fc_thread = t.fctx;
    return (intptr_t)t.data;
}
CHAIN(fc_back_side, 31)

static void fcontext_forever(transfer_t t)
{
    int depth = (int)(intptr_t)t.data;
    if (depth == 0)
        for (;;)
            t = jump_fcontext(t.fctx, NULL);
    fc_thread = t.fctx;
    fc_back_side_at_depth(depth, LONG_MAX, 0);
}

static double bench_boost_fcontext(int depth)
{
    size_t size = 64 * 1024;
    char *stack = malloc(size);
    if (stack == NULL)
        return -1;
    fcontext_t ctx = make_fcontext(stack + size, size, fcontext_forever);
    ctx = jump_fcontext(ctx, (void *)(intptr_t)depth).fctx;
    double start = now_ns();
    if (depth == 0) {
        for (long i = 0; i < iterations; i++)
            ctx = jump_fcontext(ctx, NULL).fctx;
    } else {
        fc_coroutine = ctx;
        sink = fc_out_side_at_depth(depth, iterations, 0);
    }
    double elapsed = now_ns() - start;
    free(stack);
    return elapsed / (2.0 * (double)iterations);
}
#endif

/* ---- PCL (Portable Coroutine Library), at depth 0 only ---- */

#ifdef HAVE_PCL
static void pcl_forever(void *data)
{
    (void)data;
    for (;;)
        co_resume();
}

static double bench_pcl(int depth)
{
    static int initialised;
    if (depth != 0)
        return -1;
    if (!initialised) {
        co_thread_init();
        initialised = 1;
    }
    coroutine_t co = co_create(pcl_forever, NULL, NULL, 64 * 1024);
    if (co == NULL)
        return -1;
    long n = iterations / 10 > 0 ? iterations / 10 : 1;
    co_call(co);
    double start = now_ns();
    for (long i = 0; i < n; i++)
        co_call(co);
    double elapsed = now_ns() - start;
    co_delete(co);
    return elapsed / (2.0 * (double)n);
}
#endif

struct implementation {
    const char *name;
    double (*run)(int depth);
    const char *missing; /* why it is not built, or NULL */
    int flat_only;       /* measured at depth 0 only */
};

static struct implementation implementations[] = {
    {"libcoro", bench_libcoro, NULL, 0},
    {"libcoro-transfer", bench_libcoro_transfer, NULL, 0},
#ifdef HAVE_NOFPCTL_MODULE
    {"libcoro-nofpctl", bench_libcoro_nofpctl, NULL, 0},
#endif
#ifdef HAVE_UCONTEXT
    {"ucontext", bench_ucontext, NULL, 0},
#else
    {"ucontext", NULL, "no working makecontext here (musl has none; macOS deprecates it)", 0},
#endif
#ifdef HAVE_BOOST_CONTEXT
    {"boost-fcontext", bench_boost_fcontext, NULL, 0},
#else
    {"boost-fcontext", NULL, "built without Boost.Context (Debian: libboost-context-dev)", 0},
#endif
#ifdef HAVE_PCL
    {"pcl", bench_pcl, NULL, 1},
#else
    {"pcl", NULL, "built without PCL (Debian: libpcl1-dev)", 1},
#endif
};
#define IMPLEMENTATIONS (sizeof implementations / sizeof implementations[0])

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int selected(const char *only, const char *name)
{
    if (only == NULL)
        return 1;
    size_t length = strlen(name);
    for (const char *p = only; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t item = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (item == length && strncmp(p, name, length) == 0)
            return 1;
        p += item + (comma != NULL);
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: switch_latency [--iterations N] [--repetitions R] [--only a,b] [--depths 0,1,2,8] [--csv]\n"
                    "implementations:");
    for (size_t i = 0; i < IMPLEMENTATIONS; i++)
        fprintf(stderr, " %s", implementations[i].name);
    fprintf(stderr, "\ndepths: 0 (the plain loop) to %d\n", MAX_DEPTH);
    exit(2);
}

/* Parses a comma-separated list of depths into depths[], returning how
 * many, or 0 when the list is malformed. */
static int parse_depths(const char *list, int depths[MAX_DEPTH + 1])
{
    int count = 0;
    const char *p = list;
    while (*p != '\0') {
        char *end;
        long depth = strtol(p, &end, 10);
        if (end == p || depth < 0 || depth > MAX_DEPTH || count > MAX_DEPTH || (*end != ',' && *end != '\0'))
            return 0;
        depths[count++] = (int)depth;
        p = *end == ',' ? end + 1 : end;
    }
    return count;
}

/* Whether implementation k runs at depth d in this invocation. */
static int runs(const char *only, size_t k, int depth)
{
    return implementations[k].run != NULL && selected(only, implementations[k].name) &&
           (depth == 0 || !implementations[k].flat_only);
}

int main(int argc, char **argv)
{
    int repetitions = 7, csv = 0;
    int depths[MAX_DEPTH + 1] = {0, 1, 2, 8};
    int depth_count = 4;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--csv") == 0)
            csv = 1;
        else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
            iterations = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--repetitions") == 0 && i + 1 < argc)
            repetitions = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--depths") == 0 && i + 1 < argc) {
            depth_count = parse_depths(argv[++i], depths);
            if (depth_count == 0)
                usage();
        } else
            usage();
    }
    if (iterations < 1 || repetitions < 1)
        usage();

    size_t rows = IMPLEMENTATIONS * (size_t)depth_count;
    double *samples = calloc(rows * (size_t)repetitions, sizeof *samples);
    double *median = calloc(rows, sizeof *median);
    double *minimum = calloc(rows, sizeof *minimum);
    if (samples == NULL || median == NULL || minimum == NULL)
        return 1;

#ifdef HAVE_NOFPCTL_MODULE
    load_nofp_module();
    for (size_t k = 0; k < IMPLEMENTATIONS; k++)
        if (nofp_missing != NULL && implementations[k].run == bench_libcoro_nofpctl) {
            implementations[k].run = NULL;
            implementations[k].missing = nofp_missing;
        }
#endif

    /* Warm up every implementation once at every depth (page faults, lazy
     * binding), then interleave: repetition r of every row before r + 1.
     * The warm-up is a fixed count, so that instruction counts at N and 2N
     * iterations differ by exactly N round trips per row
     * (bench/callgrind.sh). */
    long full = iterations;
    iterations = 10000;
    for (int d = 0; d < depth_count; d++)
        for (size_t k = 0; k < IMPLEMENTATIONS; k++)
            if (runs(only, k, depths[d]))
                implementations[k].run(depths[d]);
    iterations = full;
    for (int r = 0; r < repetitions; r++)
        for (int d = 0; d < depth_count; d++)
            for (size_t k = 0; k < IMPLEMENTATIONS; k++)
                if (runs(only, k, depths[d]))
                    samples[((size_t)d * IMPLEMENTATIONS + k) * (size_t)repetitions + (size_t)r] =
                        implementations[k].run(depths[d]);

    for (size_t row = 0; row < rows; row++) {
        double *s = samples + row * (size_t)repetitions;
        qsort(s, (size_t)repetitions, sizeof *s, compare_doubles);
        median[row] = repetitions % 2 ? s[repetitions / 2] : (s[repetitions / 2 - 1] + s[repetitions / 2]) / 2;
        minimum[row] = s[0];
    }

    if (csv)
        printf("impl,depth,ns_per_switch_median,ns_per_switch_min,ratio_to_libcoro\n");
    else
        printf("switch_latency: %ld round trips x %d repetitions, interleaved (ucontext and pcl: a tenth)\n"
               "depth: non-inlined frames between the loop and the switch, on each side\n",
               iterations, repetitions);
    for (int d = 0; d < depth_count; d++) {
        /* Ratios are to libcoro's resume/yield at the same depth. */
        double reference = median[(size_t)d * IMPLEMENTATIONS];
        int with_ratio = selected(only, "libcoro");
        if (!csv)
            printf("\n%-18s %5s %14s %14s %18s\n", "implementation", "depth", "median ns/sw", "min ns/sw",
                   "ratio to libcoro");
        for (size_t k = 0; k < IMPLEMENTATIONS; k++) {
            size_t row = (size_t)d * IMPLEMENTATIONS + k;
            if (!selected(only, implementations[k].name))
                continue;
            if (csv) {
                if (runs(only, k, depths[d]))
                    printf("%s,%d,%.2f,%.2f,%.3f\n", implementations[k].name, depths[d], median[row], minimum[row],
                           with_ratio ? median[row] / reference : 0.0);
                continue;
            }
            if (implementations[k].run == NULL) {
                if (d == 0)
                    printf("%-18s skipped: %s\n", implementations[k].name, implementations[k].missing);
                continue;
            }
            if (!runs(only, k, depths[d]))
                continue;
            printf("%-18s %5d %14.2f %14.2f", implementations[k].name, depths[d], median[row], minimum[row]);
            if (with_ratio)
                printf(" %17.2fx", median[row] / reference);
            printf("\n");
        }
    }
    free(samples);
    free(median);
    free(minimum);
    return 0;
}
