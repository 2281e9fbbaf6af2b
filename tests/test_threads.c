/*
 * Threads: each thread has its own running coroutine and its own context;
 * coroutines run on several threads at once; a suspended coroutine resumed
 * on another thread continues there, seeing that thread as its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "coro.h"

#define V(n) ((void *)(uintptr_t)(n))
#define N(p) ((uintptr_t)(p))

enum { THREADS = 4, PER_THREAD = 50, ROUNDS = 2000 };

static void *accumulate(void *value)
{
    coro *self = coro_running();
    uintptr_t sum = N(value);
    for (;;) {
        /* a context switch must never show another thread's coroutine */
        if (coro_running() != self || !coro_inside())
            return V(0);
        void *in;
        coro_yield(V(sum), &in);
        sum += N(in);
    }
}

static void *run_many(void *arg)
{
    uintptr_t id = N(arg);
    coro *cos[PER_THREAD];
    coro *thread_context = coro_thread();
    struct coro_options opts = {.stack_size = 32 * 1024};
    for (int i = 0; i < PER_THREAD; i++) {
        if (coro_create(&cos[i], accumulate, &opts) != CORO_OK)
            return V(1);
        if (coro_resume(cos[i], V(id), NULL) != CORO_OK)
            return V(2);
    }
    for (uintptr_t round = 1; round <= ROUNDS; round++) {
        for (int i = 0; i < PER_THREAD; i++) {
            void *out;
            if (coro_resume(cos[i], V(round), &out) != CORO_OK)
                return V(3);
            if (N(out) != id + round * (round + 1) / 2)
                return V(4);
        }
        if (coro_running() != thread_context || coro_inside())
            return V(5);
    }
    for (int i = 0; i < PER_THREAD; i++)
        if (coro_destroy(cos[i]) != CORO_OK)
            return V(6);
    return V(0);
}

static void test_threads_run_their_own_coroutines_at_once(void **state)
{
    (void)state;
    pthread_t threads[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, run_many, V(i * 1000000)), 0);
    for (int i = 0; i < THREADS; i++) {
        void *result;
        assert_int_equal(pthread_join(threads[i], &result), 0);
        assert_int_equal(N(result), 0);
    }
}

/* ---- one coroutine, two threads ---- */

struct migration {
    coro *thread_context_before;
    coro *thread_context_after;
    pthread_t thread_before;
    pthread_t thread_after;
};

/* glibc declares pthread_self() const, so the compiler may reuse one call's
 * result across a yield, even when the coroutine moved to another thread in
 * between (README, "Threads"). Calling through a volatile pointer forces a
 * fresh call. */
static pthread_t (*volatile current_thread)(void) = pthread_self;

static void *migrating(void *value)
{
    struct migration *m = value;
    m->thread_context_before = coro_thread();
    m->thread_before = current_thread();
    void *in;
    coro_yield(NULL, &in); /* resumed on the other thread */
    m->thread_context_after = coro_thread();
    m->thread_after = current_thread();
    if (coro_running() == NULL || coro_status(coro_running()) != CORO_RUNNING)
        return V(0);
    return V(N(in) + 1);
}

static void *finish_elsewhere(void *arg)
{
    coro *co = arg;
    void *out;
    if (coro_resume(co, V(41), &out) != CORO_OK)
        return V(0);
    return out;
}

static void test_resume_on_another_thread(void **state)
{
    (void)state;
    struct migration m = {0};
    coro *co;
    assert_int_equal(coro_create(&co, migrating, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, &m, NULL), CORO_OK);
    assert_int_equal(coro_status(co), CORO_SUSPENDED);

    pthread_t other;
    assert_int_equal(pthread_create(&other, NULL, finish_elsewhere, co), 0);
    void *result;
    assert_int_equal(pthread_join(other, &result), 0);
    assert_int_equal(N(result), 42);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_ptr_equal(m.thread_context_before, coro_thread());
    assert_ptr_not_equal(m.thread_context_after, coro_thread());
    assert_true(pthread_equal(m.thread_before, pthread_self()));
    assert_true(pthread_equal(m.thread_after, other));
    /* this thread is unaffected */
    assert_ptr_equal(coro_running(), coro_thread());
    assert_int_equal(coro_status(coro_thread()), CORO_RUNNING);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_run_their_own_coroutines_at_once),
        cmocka_unit_test(test_resume_on_another_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
