/*
 * The benchmarks' one clock: nanoseconds from a monotonic source, as a
 * double. Include after the feature-test macros (clock_gettime needs a
 * POSIX level under -std=c11).
 */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <time.h>

#if defined(_WIN32)
#include <windows.h>

/* clock_gettime is winpthreads' on mingw; the performance counter is the
 * system's own monotonic clock. */
static inline double now_ns(void)
{
    static LARGE_INTEGER frequency;
    LARGE_INTEGER now;
    if (frequency.QuadPart == 0)
        QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&now);
    return (double)now.QuadPart * 1e9 / (double)frequency.QuadPart;
}
#else
static inline double now_ns(void)
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

#endif /* BENCH_CLOCK_H */
