/*
 * bench/switch_latency: the cost of one context switch, for libcoro and the
 * libraries it is compared with, measured side by side in one run.
 *
 * Each implementation runs a ping-pong between the thread and one
 * coroutine: a round trip is two switches. The implementations are
 * interleaved over several repetitions (the machine's noise hits them all
 * alike), and the table gives the median and minimum per switch and the
 * ratio of medians to libcoro's resume/yield. libcoro-nofpctl is the same
 * library built with -Dfp_control=false (the switch leaves MXCSR and the
 * x87 control word alone), loaded with dlopen and called through pointers.
 *
 *   switch_latency [--iterations N] [--repetitions R] [--only a,b] [--csv]
 */
#if !defined(_WIN32)
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700 /* ucontext under -std=c11 */
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

#if defined(_WIN32)
#include <windows.h>

/* clock_gettime is winpthreads' on mingw; the performance counter is the
 * system's own monotonic clock. */
static double now_ns(void)
{
    static LARGE_INTEGER frequency;
    LARGE_INTEGER now;
    if (frequency.QuadPart == 0)
        QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&now);
    return (double)now.QuadPart * 1e9 / (double)frequency.QuadPart;
}
#else
static double now_ns(void)
{
    struct timespec ts;
#if defined(CLOCK_MONOTONIC)
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    timespec_get(&ts, TIME_UTC);
#endif
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}
#endif

/* ---- libcoro, resume/yield ---- */

static void *yield_forever(void *value)
{
    for (;;)
        coro_yield(value, &value);
    return NULL;
}

static double bench_libcoro(void)
{
    coro *co;
    if (coro_create(&co, yield_forever, NULL) != CORO_OK)
        return -1;
    double start = now_ns();
    for (long i = 0; i < iterations; i++)
        coro_resume(co, NULL, NULL);
    double elapsed = now_ns() - start;
    coro_destroy(co);
    return elapsed / (2.0 * (double)iterations);
}

/* ---- libcoro, symmetric transfer between the thread and a coroutine ---- */

static void *transfer_back_forever(void *value)
{
    coro *thread = value;
    for (;;)
        coro_transfer(thread, NULL, NULL);
    return NULL;
}

static double bench_libcoro_transfer(void)
{
    coro *co;
    if (coro_create(&co, transfer_back_forever, NULL) != CORO_OK)
        return -1;
    coro_transfer(co, coro_thread(), NULL);
    double start = now_ns();
    for (long i = 0; i < iterations; i++)
        coro_transfer(co, NULL, NULL);
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

static void *nofp_yield_forever(void *value)
{
    for (;;)
        nofp_yield(value, &value);
    return NULL;
}

static double bench_libcoro_nofpctl(void)
{
    coro *co;
    if (nofp_missing != NULL || nofp_create(&co, nofp_yield_forever, NULL) != CORO_OK)
        return -1;
    double start = now_ns();
    for (long i = 0; i < iterations; i++)
        nofp_resume(co, NULL, NULL);
    double elapsed = now_ns() - start;
    nofp_destroy(co);
    return elapsed / (2.0 * (double)iterations);
}
#endif

/* ---- glibc ucontext ---- */

#ifdef HAVE_UCONTEXT
static ucontext_t uc_thread, uc_coroutine;

static void uc_forever(void)
{
    for (;;)
        swapcontext(&uc_coroutine, &uc_thread);
}

static double bench_ucontext(void)
{
    size_t size = 64 * 1024;
    void *stack = malloc(size);
    if (stack == NULL)
        return -1;
    getcontext(&uc_coroutine);
    uc_coroutine.uc_stack.ss_sp = stack;
    uc_coroutine.uc_stack.ss_size = size;
    uc_coroutine.uc_link = NULL;
    makecontext(&uc_coroutine, uc_forever, 0);
    long n = iterations / 10 > 0 ? iterations / 10 : 1; /* a syscall per switch */
    swapcontext(&uc_thread, &uc_coroutine);
    double start = now_ns();
    for (long i = 0; i < n; i++)
        swapcontext(&uc_thread, &uc_coroutine);
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

static void fcontext_forever(transfer_t t)
{
    for (;;)
        t = jump_fcontext(t.fctx, NULL);
}

static double bench_boost_fcontext(void)
{
    size_t size = 64 * 1024;
    char *stack = malloc(size);
    if (stack == NULL)
        return -1;
    fcontext_t ctx = make_fcontext(stack + size, size, fcontext_forever);
    ctx = jump_fcontext(ctx, NULL).fctx;
    double start = now_ns();
    for (long i = 0; i < iterations; i++)
        ctx = jump_fcontext(ctx, NULL).fctx;
    double elapsed = now_ns() - start;
    free(stack);
    return elapsed / (2.0 * (double)iterations);
}
#endif

/* ---- PCL (Portable Coroutine Library) ---- */

#ifdef HAVE_PCL
static void pcl_forever(void *data)
{
    (void)data;
    for (;;)
        co_resume();
}

static double bench_pcl(void)
{
    static int initialised;
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
    double (*run)(void);
    const char *missing; /* why it is not built, or NULL */
};

static struct implementation implementations[] = {
    {"libcoro", bench_libcoro, NULL},
    {"libcoro-transfer", bench_libcoro_transfer, NULL},
#ifdef HAVE_NOFPCTL_MODULE
    {"libcoro-nofpctl", bench_libcoro_nofpctl, NULL},
#endif
#ifdef HAVE_UCONTEXT
    {"ucontext", bench_ucontext, NULL},
#else
    {"ucontext", NULL, "no <ucontext.h> on this system"},
#endif
#ifdef HAVE_BOOST_CONTEXT
    {"boost-fcontext", bench_boost_fcontext, NULL},
#else
    {"boost-fcontext", NULL, "built without Boost.Context (Debian: libboost-context-dev)"},
#endif
#ifdef HAVE_PCL
    {"pcl", bench_pcl, NULL},
#else
    {"pcl", NULL, "built without PCL (Debian: libpcl1-dev)"},
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
    fprintf(stderr, "usage: switch_latency [--iterations N] [--repetitions R] [--only a,b] [--csv]\n"
                    "implementations:");
    for (size_t i = 0; i < IMPLEMENTATIONS; i++)
        fprintf(stderr, " %s", implementations[i].name);
    fprintf(stderr, "\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int repetitions = 7, csv = 0;
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
        else
            usage();
    }
    if (iterations < 1 || repetitions < 1)
        usage();

    double *samples = calloc(IMPLEMENTATIONS * (size_t)repetitions, sizeof *samples);
    if (samples == NULL)
        return 1;

#ifdef HAVE_NOFPCTL_MODULE
    load_nofp_module();
    for (size_t k = 0; k < IMPLEMENTATIONS; k++)
        if (nofp_missing != NULL && implementations[k].run == bench_libcoro_nofpctl) {
            implementations[k].run = NULL;
            implementations[k].missing = nofp_missing;
        }
#endif

    /* Warm up every implementation once (page faults, lazy binding), then
     * interleave: repetition r of every implementation before r + 1. The
     * warm-up is a fixed count, so that instruction counts at N and 2N
     * iterations differ by exactly N round trips (bench/callgrind.sh). */
    long full = iterations;
    iterations = 10000;
    for (size_t k = 0; k < IMPLEMENTATIONS; k++)
        if (implementations[k].run != NULL && selected(only, implementations[k].name))
            implementations[k].run();
    iterations = full;
    for (int r = 0; r < repetitions; r++)
        for (size_t k = 0; k < IMPLEMENTATIONS; k++)
            if (implementations[k].run != NULL && selected(only, implementations[k].name))
                samples[k * (size_t)repetitions + (size_t)r] = implementations[k].run();

    double median[IMPLEMENTATIONS], minimum[IMPLEMENTATIONS];
    for (size_t k = 0; k < IMPLEMENTATIONS; k++) {
        double *s = samples + k * (size_t)repetitions;
        qsort(s, (size_t)repetitions, sizeof *s, compare_doubles);
        median[k] = repetitions % 2 ? s[repetitions / 2] : (s[repetitions / 2 - 1] + s[repetitions / 2]) / 2;
        minimum[k] = s[0];
    }
    double reference = median[0];

    if (csv) {
        printf("impl,ns_per_switch_median,ns_per_switch_min,ratio_to_libcoro\n");
        for (size_t k = 0; k < IMPLEMENTATIONS; k++)
            if (implementations[k].run != NULL && selected(only, implementations[k].name))
                printf("%s,%.2f,%.2f,%.3f\n", implementations[k].name, median[k], minimum[k],
                       selected(only, "libcoro") ? median[k] / reference : 0.0);
    } else {
        printf("switch_latency: %ld round trips x %d repetitions, interleaved (ucontext and pcl: a tenth)\n\n",
               iterations, repetitions);
        printf("%-18s %14s %14s %18s\n", "implementation", "median ns/sw", "min ns/sw", "ratio to libcoro");
        for (size_t k = 0; k < IMPLEMENTATIONS; k++) {
            if (!selected(only, implementations[k].name))
                continue;
            if (implementations[k].run == NULL) {
                printf("%-18s skipped: %s\n", implementations[k].name, implementations[k].missing);
                continue;
            }
            printf("%-18s %14.2f %14.2f", implementations[k].name, median[k], minimum[k]);
            if (selected(only, "libcoro"))
                printf(" %17.2fx", median[k] / reference);
            printf("\n");
        }
    }
    free(samples);
    return 0;
}
