/*
 * Every detectable misuse returns its own code and leaves every coroutine
 * exactly as it was: each test checks the statuses after the failed call
 * and then drives the coroutines to their normal end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>

#include "coro.h"

#define V(n) ((void *)(uintptr_t)(n))
#define N(p) ((uintptr_t)(p))

static void *return_value(void *value)
{
    return value;
}

static void test_null_arguments(void **state)
{
    (void)state;
    coro *co = NULL;
    assert_int_equal(coro_create(NULL, return_value, NULL), CORO_EINVAL);
    assert_int_equal(coro_create(&co, NULL, NULL), CORO_EINVAL);
    assert_null(co);
    assert_int_equal(coro_resume(NULL, NULL, NULL), CORO_EINVAL);
    assert_int_equal(coro_transfer(NULL, NULL, NULL), CORO_EINVAL);
    assert_int_equal(coro_destroy(NULL), CORO_EINVAL);
    assert_int_equal(coro_status(NULL), CORO_DEAD);
    assert_null(coro_name(NULL));
    assert_null(coro_user_data(NULL));
    coro_set_user_data(NULL, &co); /* ignored, no crash */
}

static void test_resume_dead(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, return_value, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, V(1), NULL), CORO_OK);
    void *out = V(77);
    assert_int_equal(coro_resume(co, V(2), &out), CORO_EDEAD);
    assert_int_equal(N(out), 77); /* untouched */
    assert_int_equal(coro_transfer(co, V(2), &out), CORO_EDEAD);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* From inside: resume and transfer to itself, resume and transfer to the
 * (normal) coroutine waiting for it, destroy either. */
static coro *outer, *inner;

static void *inner_entry(void *value)
{
    (void)value;
    assert_int_equal(coro_resume(inner, NULL, NULL), CORO_ERUNNING);
    assert_int_equal(coro_transfer(inner, NULL, NULL), CORO_ERUNNING);
    assert_int_equal(coro_destroy(inner), CORO_ERUNNING);
    assert_int_equal(coro_resume(outer, NULL, NULL), CORO_ENORMAL);
    assert_int_equal(coro_transfer(outer, NULL, NULL), CORO_ENORMAL);
    assert_int_equal(coro_destroy(outer), CORO_ENORMAL);
    /* the thread's own context: normal (it waits in resume(outer)) */
    assert_int_equal(coro_resume(coro_thread(), NULL, NULL), CORO_ENORMAL);
    assert_int_equal(coro_transfer(coro_thread(), NULL, NULL), CORO_ENORMAL);
    assert_int_equal(coro_destroy(coro_thread()), CORO_ETHREAD);

    assert_int_equal(coro_status(inner), CORO_RUNNING);
    assert_int_equal(coro_status(outer), CORO_NORMAL);
    assert_int_equal(coro_status(coro_thread()), CORO_NORMAL);
    assert_ptr_equal(coro_running(), inner);
    coro_yield(V(5), NULL);
    return V(6);
}

static void *outer_entry(void *value)
{
    (void)value;
    void *out;
    assert_int_equal(coro_resume(inner, NULL, &out), CORO_OK);
    assert_int_equal(N(out), 5);
    assert_int_equal(coro_resume(inner, NULL, &out), CORO_OK);
    assert_int_equal(N(out), 6);
    return V(7);
}

static void test_running_and_normal_targets(void **state)
{
    (void)state;
    assert_int_equal(coro_create(&outer, outer_entry, NULL), CORO_OK);
    assert_int_equal(coro_create(&inner, inner_entry, NULL), CORO_OK);
    void *out;
    assert_int_equal(coro_resume(outer, NULL, &out), CORO_OK);
    assert_int_equal(N(out), 7);
    assert_int_equal(coro_status(outer), CORO_DEAD);
    assert_int_equal(coro_status(inner), CORO_DEAD);
    assert_int_equal(coro_destroy(outer), CORO_OK);
    assert_int_equal(coro_destroy(inner), CORO_OK);
}

static void test_thread_context_misuse(void **state)
{
    (void)state;
    /* running: the caller itself */
    assert_int_equal(coro_resume(coro_thread(), NULL, NULL), CORO_ERUNNING);
    assert_int_equal(coro_transfer(coro_thread(), NULL, NULL), CORO_ERUNNING);
    assert_int_equal(coro_destroy(coro_thread()), CORO_ETHREAD);
    assert_int_equal(coro_status(coro_thread()), CORO_RUNNING);
}

/* While the thread has transferred away, its context is suspended: it is a
 * transfer target but cannot be resumed. */
static void *resume_the_suspended_thread(void *value)
{
    (void)value;
    assert_int_equal(coro_status(coro_thread()), CORO_SUSPENDED);
    assert_int_equal(coro_resume(coro_thread(), NULL, NULL), CORO_ETHREAD);
    assert_int_equal(coro_destroy(coro_thread()), CORO_ETHREAD);
    assert_int_equal(coro_status(coro_thread()), CORO_SUSPENDED);
    return V(3);
}

static void test_suspended_thread_context_is_not_resumable(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, resume_the_suspended_thread, NULL), CORO_OK);
    void *out;
    assert_int_equal(coro_transfer(co, NULL, &out), CORO_OK);
    assert_int_equal(N(out), 3);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

static void test_yield_outside(void **state)
{
    (void)state;
    void *in = V(9);
    assert_int_equal(coro_yield(V(1), &in), CORO_EOUTSIDE);
    assert_int_equal(N(in), 9);
    assert_int_equal(coro_status(coro_thread()), CORO_RUNNING);
}

static void test_bad_stack_options(void **state)
{
    (void)state;
    coro *co = NULL;
    struct coro_options opts = {.stack_size = CORO_STACK_MIN - 1};
    assert_int_equal(coro_create(&co, return_value, &opts), CORO_ESTACK);

    static _Alignas(64) unsigned char memory[64 * 1024];
    opts = (struct coro_options){.stack = memory};
    assert_int_equal(coro_create(&co, return_value, &opts), CORO_EINVAL); /* no size */
    opts = (struct coro_options){.stack = memory, .stack_size = sizeof memory, .guard_size = 4096};
    assert_int_equal(coro_create(&co, return_value, &opts), CORO_EINVAL); /* no guard possible */
    opts = (struct coro_options){.stack = memory, .stack_size = CORO_STACK_MIN};
    assert_int_equal(coro_create(&co, return_value, &opts), CORO_ESTACK); /* no room for bookkeeping */
    assert_null(co);

    opts = (struct coro_options){.stack = memory, .stack_size = sizeof memory, .guard_size = CORO_NO_GUARD};
    assert_int_equal(coro_create(&co, return_value, &opts), CORO_OK);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    coro *co = NULL;
    struct coro_options opts = {.stack_size = SIZE_MAX};
    assert_int_equal(coro_create(&co, return_value, &opts), CORO_ENOMEM);
    /* More than any address space holds: half of a 32-bit one can be free. */
    opts.stack_size = SIZE_MAX / 16 * 15;
    assert_int_equal(coro_create(&co, return_value, &opts), CORO_ENOMEM);
    opts = (struct coro_options){.guard_size = SIZE_MAX - 1};
    assert_int_equal(coro_create(&co, return_value, &opts), CORO_ENOMEM);
    assert_null(co);
    /* and the library still works */
    assert_int_equal(coro_create(&co, return_value, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* Another thread's own context runs only on that thread. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static coro *other_thread_context;
static int other_may_finish;

static void *park_until_told(void *value)
{
    (void)value;
    pthread_mutex_lock(&lock);
    other_thread_context = coro_thread();
    pthread_cond_broadcast(&changed);
    while (!other_may_finish)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *other_thread(void *arg)
{
    (void)arg;
    coro *co;
    if (coro_create(&co, park_until_told, NULL) != CORO_OK)
        return V(1);
    if (coro_transfer(co, NULL, NULL) != CORO_OK) /* the thread's context is now suspended */
        return V(2);
    return V(coro_destroy(co) == CORO_OK ? 0 : 3);
}

static void test_transfer_to_another_threads_context(void **state)
{
    (void)state;
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, other_thread, NULL), 0);
    pthread_mutex_lock(&lock);
    while (other_thread_context == NULL)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);

    assert_int_equal(coro_status(other_thread_context), CORO_SUSPENDED);
    assert_int_equal(coro_transfer(other_thread_context, NULL, NULL), CORO_ETHREAD);
    assert_int_equal(coro_resume(other_thread_context, NULL, NULL), CORO_ETHREAD);
    /* Its saved stack pointer lies below its control block, as a
     * coroutine's does (thread-local storage sits atop the thread's stack
     * on some systems): only its kind tells it apart. */
    assert_int_equal(coro_destroy(other_thread_context), CORO_ETHREAD);
    assert_int_equal(coro_status(other_thread_context), CORO_SUSPENDED);

    pthread_mutex_lock(&lock);
    other_may_finish = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    void *result;
    assert_int_equal(pthread_join(thread, &result), 0);
    assert_int_equal(N(result), 0);
}

static void test_strerror(void **state)
{
    (void)state;
    const int codes[] = {CORO_OK, CORO_EINVAL, CORO_EDEAD, CORO_ERUNNING, CORO_ENORMAL,
                         CORO_EOUTSIDE, CORO_ETHREAD, CORO_ESTACK, CORO_ENOMEM};
    const size_t count = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < count; i++) {
        assert_non_null(coro_strerror(codes[i]));
        assert_true(strlen(coro_strerror(codes[i])) > 0);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(coro_strerror(codes[i]), coro_strerror(codes[j]));
        assert_string_not_equal(coro_strerror(codes[i]), coro_strerror(-1));
    }
    assert_string_equal(coro_strerror(12345), coro_strerror(-1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_resume_dead),
        cmocka_unit_test(test_running_and_normal_targets),
        cmocka_unit_test(test_thread_context_misuse),
        cmocka_unit_test(test_suspended_thread_context_is_not_resumable),
        cmocka_unit_test(test_yield_outside),
        cmocka_unit_test(test_bad_stack_options),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_transfer_to_another_threads_context),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
