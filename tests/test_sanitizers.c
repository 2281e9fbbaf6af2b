/*
 * Sanitizers and valgrind see every stack switch. In every build the switch
 * paths run here (first entry, nesting, transfer, the final switch, a
 * coroutine destroyed mid-stack, stack reuse, migration to another thread)
 * and must stay free of reports. In a build with a sanitizer, a real bug on
 * a coroutine stack must still be reported: ASan builds check a stack-buffer
 * overflow, TSan builds a data race between two threads' coroutines, each in
 * a forked child. The case for a sanitizer the build lacks is skipped.
 */
#define _DEFAULT_SOURCE

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "coro.h"
#include "child.h"
#include "sanitizer_build.h"


/* Stack arrays give ASan redzones to poison and unpoison on every frame. */
__attribute__((noinline)) static int use_stack(int seed)
{
    volatile char buffer[200];
    for (size_t i = 0; i < sizeof buffer; i++)
        buffer[i] = (char)(seed + (int)i);
    return buffer[seed % (int)sizeof buffer];
}

static void *yielding_entry(void *value)
{
    intptr_t rounds = (intptr_t)value;
    for (intptr_t i = 0; i < rounds; i++) {
        use_stack((int)i);
        coro_yield((void *)i, NULL);
    }
    return (void *)-rounds;
}

/* Resumes a coroutine that resumes another, three deep. */
static void *nesting_entry(void *value)
{
    intptr_t depth = (intptr_t)value;
    use_stack((int)depth);
    if (depth == 0)
        return (void *)(intptr_t)use_stack(1);
    coro *inner;
    if (coro_create(&inner, nesting_entry, NULL) != CORO_OK)
        return NULL;
    void *result = NULL;
    coro_resume(inner, (void *)(depth - 1), &result);
    coro_destroy(inner);
    coro_yield(result, NULL);
    return (void *)(depth * 100);
}

static void test_resume_yield_and_nesting_are_clean(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, yielding_entry, NULL), CORO_OK);
    void *result = NULL;
    for (intptr_t i = 0; i < 10; i++) {
        assert_int_equal(coro_resume(co, (void *)10, &result), CORO_OK);
        assert_ptr_equal(result, (void *)i);
    }
    assert_int_equal(coro_resume(co, NULL, &result), CORO_OK);
    assert_ptr_equal(result, (void *)-10);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_int_equal(coro_destroy(co), CORO_OK);

    assert_int_equal(coro_create(&co, nesting_entry, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, (void *)3, &result), CORO_OK);
    assert_int_equal(coro_resume(co, NULL, &result), CORO_OK);
    assert_ptr_equal(result, (void *)300);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* A ring of coroutines handing control on with coro_transfer(), back to the
 * thread's own context at the end. */
#define RING 4
static coro *ring[RING];

static void *ring_entry(void *value)
{
    intptr_t laps = (intptr_t)value;
    for (intptr_t lap = 0; lap < laps; lap++) {
        coro *self = coro_running();
        size_t me = 0;
        while (ring[me] != self)
            me++;
        use_stack((int)me);
        coro *next = me + 1 < RING ? ring[me + 1] : coro_thread();
        coro_transfer(next, (void *)laps, NULL);
    }
    return NULL;
}

static void test_transfer_ring_is_clean(void **state)
{
    (void)state;
    for (size_t i = 0; i < RING; i++)
        assert_int_equal(coro_create(&ring[i], ring_entry, NULL), CORO_OK);
    for (int lap = 0; lap < 5; lap++)
        assert_int_equal(coro_transfer(ring[0], (void *)5, NULL), CORO_OK);
    /* Every coroutine has finished its loop and waits to return. */
    for (size_t i = 0; i < RING; i++) {
        assert_int_equal(coro_resume(ring[i], NULL, NULL), CORO_OK);
        assert_int_equal(coro_status(ring[i]), CORO_DEAD);
        assert_int_equal(coro_destroy(ring[i]), CORO_OK);
    }
}

/* Coroutines destroyed while suspended deep inside frames with redzones;
 * new stacks then tend to be mapped at the same addresses and must not
 * inherit stale poison. */
__attribute__((noinline)) static void yield_from_deep(int depth)
{
    volatile char buffer[300];
    buffer[0] = (char)depth;
    if (depth > 0)
        yield_from_deep(depth - 1);
    else
        coro_yield(NULL, NULL);
    buffer[1] = buffer[0];
}

static void *deep_entry(void *value)
{
    yield_from_deep((int)(intptr_t)value);
    return NULL;
}

static void *stack_filling_entry(void *value)
{
    (void)value;
    volatile char buffer[16 * 1024];
    memset((char *)buffer, 1, sizeof buffer);
    return (void *)(intptr_t)buffer[sizeof buffer - 1];
}

static void test_destroyed_midway_then_reused_is_clean(void **state)
{
    (void)state;
    struct coro_options options = {.stack_size = 64 * 1024};
    for (int round = 0; round < 20; round++) {
        coro *co;
        assert_int_equal(coro_create(&co, deep_entry, &options), CORO_OK);
        assert_int_equal(coro_resume(co, (void *)(intptr_t)(round % 8), NULL), CORO_OK);
        assert_int_equal(coro_destroy(co), CORO_OK);

        void *result = NULL;
        assert_int_equal(coro_create(&co, stack_filling_entry, &options), CORO_OK);
        assert_int_equal(coro_resume(co, NULL, &result), CORO_OK);
        assert_ptr_equal(result, (void *)1);
        assert_int_equal(coro_destroy(co), CORO_OK);
    }
}

/* Caller-supplied stack memory, reused for one coroutine after another. */
static void test_caller_stack_reused_is_clean(void **state)
{
    (void)state;
    static _Alignas(64) char memory[128 * 1024];
    struct coro_options options = {.stack = memory, .stack_size = sizeof memory};
    for (int round = 0; round < 10; round++) {
        coro *co;
        assert_int_equal(coro_create(&co, deep_entry, &options), CORO_OK);
        assert_int_equal(coro_resume(co, (void *)(intptr_t)round, NULL), CORO_OK);
        assert_int_equal(coro_destroy(co), CORO_OK);
        assert_int_equal(coro_create(&co, stack_filling_entry, &options), CORO_OK);
        assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
        assert_int_equal(coro_destroy(co), CORO_OK);
    }
}

/* setjmp/longjmp inside a coroutine: ASan unpoisons the abandoned frames
 * using the stack bounds it was told at the switch. */
static void *longjmp_entry(void *value)
{
    (void)value;
    jmp_buf target;
    volatile int jumped = 0;
    if (setjmp(target) == 0) {
        use_stack(3);
        longjmp(target, 1);
    }
    jumped = 1;
    return (void *)(intptr_t)jumped;
}

static void test_longjmp_inside_coroutine_is_clean(void **state)
{
    (void)state;
    coro *co;
    void *result = NULL;
    assert_int_equal(coro_create(&co, longjmp_entry, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, NULL, &result), CORO_OK);
    assert_ptr_equal(result, (void *)1);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* A coroutine started on this thread, continued on another, finished here:
 * the joins order everything. */
static void *resume_once(void *arg)
{
    void *result = NULL;
    if (coro_resume(arg, (void *)10, &result) != CORO_OK)
        return (void *)-1;
    return result;
}

static void test_migration_between_threads_is_clean(void **state)
{
    (void)state;
    coro *co;
    void *result = NULL;
    assert_int_equal(coro_create(&co, yielding_entry, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, (void *)3, &result), CORO_OK);
    for (intptr_t i = 1; i < 3; i++) {
        pthread_t thread;
        assert_int_equal(pthread_create(&thread, NULL, resume_once, co), 0);
        assert_int_equal(pthread_join(thread, &result), 0);
        assert_ptr_equal(result, (void *)i);
    }
    assert_int_equal(coro_resume(co, NULL, &result), CORO_OK);
    assert_ptr_equal(result, (void *)-3);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

#if defined(BUILT_WITH_ASAN) || defined(BUILT_WITH_TSAN)
static void assert_reported(const char *output, const char *expected, int status)
{
    if (strstr(output, expected) == NULL) {
        print_error("expected \"%s\" in the child's report; it wrote:\n%s\n", expected, output);
        fail();
    }
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
#endif

#if defined(BUILT_WITH_ASAN)
static volatile size_t one_past_the_end = 16;

/* UBSan (bounds, object-size) would stop this write before ASan saw it. */
__attribute__((noinline, no_sanitize("undefined"))) static void overflowing_write(void)
{
    volatile char buffer[16];
    buffer[one_past_the_end] = 1;
    (void)buffer[0];
}

static void *overflowing_entry(void *value)
{
    overflowing_write();
    return value;
}

static void stack_buffer_overflow_in_coroutine(void)
{
    coro *co;
    if (coro_create(&co, overflowing_entry, NULL) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
}

static void test_asan_reports_stack_buffer_overflow(void **state)
{
    (void)state;
    static struct child_result result;
    run_child(stack_buffer_overflow_in_coroutine, CHILD_STDERR, &result);
    const char *output = result.output;
    int status = result.status;
    assert_reported(output, "ERROR: AddressSanitizer: stack-buffer-overflow", status);
    /* ASan found the frame on the coroutine stack: it knew that stack. */
    assert_reported(output, "in frame", status);
}
#else
static void test_asan_reports_stack_buffer_overflow(void **state)
{
    (void)state;
    print_message("not built with -fsanitize=address\n");
    skip();
}
#endif

#if defined(BUILT_WITH_TSAN)
static int unguarded;

static void *racing_entry(void *value)
{
    unguarded++;
    return value;
}

static void *thread_racing(void *co)
{
    coro_resume(co, NULL, NULL);
    return NULL;
}

/* The coroutines are created and destroyed here, not on the racing threads:
 * stacks carved from slabs pass through the slabs' mutex, whose ordering
 * ThreadSanitizer would rightly take to order the two increments. */
static void data_race_between_coroutines(void)
{
    pthread_t threads[2];
    coro *racers[2];
    for (size_t i = 0; i < 2; i++) {
        if (coro_create(&racers[i], racing_entry, NULL) != CORO_OK)
            return;
    }
    for (size_t i = 0; i < 2; i++)
        pthread_create(&threads[i], NULL, thread_racing, racers[i]);
    for (size_t i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    for (size_t i = 0; i < 2; i++)
        coro_destroy(racers[i]);
}

static void test_tsan_reports_race_between_coroutines(void **state)
{
    (void)state;
    static struct child_result result;
    run_child(data_race_between_coroutines, CHILD_STDERR, &result);
    const char *output = result.output;
    int status = result.status;
    assert_reported(output, "WARNING: ThreadSanitizer: data race", status);
    assert_reported(output, "racing_entry", status);
}
#else
static void test_tsan_reports_race_between_coroutines(void **state)
{
    (void)state;
    print_message("not built with -fsanitize=thread\n");
    skip();
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_yield_and_nesting_are_clean),
        cmocka_unit_test(test_transfer_ring_is_clean),
        cmocka_unit_test(test_destroyed_midway_then_reused_is_clean),
        cmocka_unit_test(test_caller_stack_reused_is_clean),
        cmocka_unit_test(test_longjmp_inside_coroutine_is_clean),
        cmocka_unit_test(test_migration_between_threads_is_clean),
        cmocka_unit_test(test_asan_reports_stack_buffer_overflow),
        cmocka_unit_test(test_tsan_reports_race_between_coroutines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
