/*
 * Floating point and alignment inside coroutines: printf with doubles
 * (which uses SSE/VFP registers and needs an aligned stack), aligned
 * locals, and a double-heavy computation carried across yields.
 */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <math.h>

#include "coro.h"

#define V(n) ((void *)(uintptr_t)(n))
#define N(p) ((uintptr_t)(p))

static char formatted[128];

static void *format_doubles(void *value)
{
    double x = *(double *)value;
    snprintf(formatted, sizeof formatted, "%f %.3e %g", x, x * 1000.0, x / 3.0);
    return NULL;
}

static void test_printf_doubles(void **state)
{
    (void)state;
    double x = 3.25;
    char expected[128];
    snprintf(expected, sizeof expected, "%f %.3e %g", x, x * 1000.0, x / 3.0);
    coro *co;
    struct coro_options opts = {.stack_size = 64 * 1024};
    assert_int_equal(coro_create(&co, format_doubles, &opts), CORO_OK);
    assert_int_equal(coro_resume(co, &x, NULL), CORO_OK);
    assert_string_equal(formatted, expected);
    assert_string_equal(formatted, "3.250000 3.250e+03 1.08333");
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* The compiler assumes the ABI's stack alignment: a misaligned coroutine
 * stack shows up as misaligned locals (and as faults in aligned vector
 * stores). It also folds `address & 15` of an aligned local to 0 at compile
 * time, so the address is passed through an empty asm it cannot see into. */
static uintptr_t runtime_address(volatile void *p)
{
    uintptr_t address = (uintptr_t)p;
    __asm__ volatile("" : "+r"(address));
    return address;
}

static void *aligned_locals(void *value)
{
    (void)value;
    uintptr_t misaligned = 0;
    for (int depth = 0; depth < 3; depth++) {
        alignas(16) volatile unsigned char block[48];
        alignas(16) volatile double pair[2] = {1.0, 2.0};
        volatile long double ld = 1.5L;
        misaligned |= runtime_address(block) & 15;
        misaligned |= runtime_address(pair) & 15;
        block[0] = (unsigned char)(pair[0] + pair[1] + (double)ld);
        coro_yield(V(misaligned), NULL);
    }
    return V(misaligned);
}

static void test_aligned_locals(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, aligned_locals, NULL), CORO_OK);
    void *out;
    while (coro_status(co) != CORO_DEAD) {
        assert_int_equal(coro_resume(co, NULL, &out), CORO_OK);
        assert_int_equal(N(out), 0);
    }
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* A series computed in a coroutine that yields after every term, while the
 * resumer does floating-point work of its own in between, must give the
 * same bits as the same series computed straight. */
static double series_term(int k)
{
    return sin(k * 0.001) / (1.0 + k * k * 1e-6) + sqrt((double)k) * 1e-3;
}

static void *series(void *value)
{
    int terms = (int)N(value);
    double sum = 0.0, compensation = 0.0;
    for (int k = 1; k <= terms; k++) {
        double y = series_term(k) - compensation;
        double t = sum + y;
        compensation = (t - sum) - y;
        sum = t;
        coro_yield(NULL, NULL);
    }
    static double result;
    result = sum;
    return &result;
}

static void test_double_computation_across_yields(void **state)
{
    (void)state;
    enum { TERMS = 5000 };
    double expected = 0.0, compensation = 0.0;
    for (int k = 1; k <= TERMS; k++) {
        double y = series_term(k) - compensation;
        double t = expected + y;
        compensation = (t - expected) - y;
        expected = t;
    }

    coro *co;
    assert_int_equal(coro_create(&co, series, NULL), CORO_OK);
    volatile double noise = 1.0;
    void *out = NULL;
    assert_int_equal(coro_resume(co, V(TERMS), &out), CORO_OK);
    while (coro_status(co) != CORO_DEAD) {
        noise = noise * 1.0000001 + cos(noise);
        assert_int_equal(coro_resume(co, NULL, &out), CORO_OK);
    }
    assert_non_null(out);
    assert_memory_equal(out, &expected, sizeof expected);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_printf_doubles),
        cmocka_unit_test(test_aligned_locals),
        cmocka_unit_test(test_double_computation_across_yields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
