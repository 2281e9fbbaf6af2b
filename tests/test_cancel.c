/*
 * coro_cancel() and the hand-off hook (coro_resume_with, coro_yield_with,
 * coro_transfer_with): each rule in coro.h, each misuse with its code and
 * with nothing changed.
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

static void *count_runs_spare(void *value)
{
    return value;
}

/* A suspended coroutine that calls made in a hook or while cancelled try to
 * transfer to, and must leave as it was. */
static coro *spare;

static void make_spare(void)
{
    assert_int_equal(coro_create(&spare, count_runs_spare, NULL), CORO_OK);
}

static void drop_spare(void)
{
    assert_int_equal(coro_status(spare), CORO_SUSPENDED);
    assert_int_equal(coro_destroy(spare), CORO_OK);
}

/* What a cancelled coroutine saw, recorded by the entries below. */
static int pending_result;
static int later_yield_result;
static int later_transfer_result;
static void *delivered;
static int cleanups;

/* Yields until a yield fails, as code written for cancel does; records what
 * the failing yield and the calls after it returned. */
static void *loop_until_cancelled(void *value)
{
    (void)value;
    for (;;) {
        delivered = V(0xdead);
        int result = coro_yield(V(1), &delivered);
        if (result != CORO_OK) {
            pending_result = result;
            break;
        }
    }
    later_yield_result = coro_yield(V(2), NULL);
    later_transfer_result = coro_transfer(spare, V(3), NULL);
    cleanups++;
    return V(42);
}

static void reset(void)
{
    pending_result = later_yield_result = later_transfer_result = -1;
    delivered = NULL;
    cleanups = 0;
}

static void test_cancel_suspended_in_yield(void **state)
{
    (void)state;
    reset();
    make_spare();
    coro *co;
    assert_int_equal(coro_create(&co, loop_until_cancelled, NULL), CORO_OK);
    void *out = NULL;
    assert_int_equal(coro_resume(co, NULL, &out), CORO_OK);
    assert_int_equal(coro_resume(co, NULL, &out), CORO_OK);
    assert_int_equal(N(out), 1);
    assert_false(coro_cancelled(co));

    assert_int_equal(coro_cancel(co, &out), CORO_OK);
    assert_int_equal(pending_result, CORO_ECANCELED);
    assert_int_equal(N(delivered), 0xdead); /* nothing delivered */
    assert_int_equal(later_yield_result, CORO_ECANCELED);
    assert_int_equal(later_transfer_result, CORO_ECANCELED);
    assert_int_equal(cleanups, 1);
    assert_int_equal(N(out), 42);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_true(coro_cancelled(co));
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_EDEAD);
    assert_int_equal(coro_cancel(co, NULL), CORO_EDEAD);
    assert_int_equal(coro_destroy(co), CORO_OK);
    drop_spare();
}

static int ran;

static void *count_runs(void *value)
{
    ran++;
    return value;
}

static void test_cancel_never_started(void **state)
{
    (void)state;
    ran = 0;
    coro *co;
    assert_int_equal(coro_create(&co, count_runs, NULL), CORO_OK);
    void *out = V(7);
    assert_int_equal(coro_cancel(co, &out), CORO_OK);
    assert_null(out);
    assert_int_equal(ran, 0);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_true(coro_cancelled(co));
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_EDEAD);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* A coroutine suspended in a transfer: its transfer returns the code. */
static coro *transfer_partner;

static void *transfer_then_unwind(void *value)
{
    (void)value;
    pending_result = coro_transfer(transfer_partner, NULL, NULL);
    later_transfer_result = coro_transfer(transfer_partner, NULL, NULL);
    return V(5);
}

static void *yield_once(void *value)
{
    coro_yield(value, NULL);
    return value;
}

static void test_cancel_suspended_in_transfer(void **state)
{
    (void)state;
    reset();
    coro *co;
    assert_int_equal(coro_create(&transfer_partner, yield_once, NULL), CORO_OK);
    assert_int_equal(coro_create(&co, transfer_then_unwind, NULL), CORO_OK);
    /* co transfers to the partner, which yields back here. */
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(coro_status(co), CORO_SUSPENDED);
    void *out;
    assert_int_equal(coro_cancel(co, &out), CORO_OK);
    assert_int_equal(pending_result, CORO_ECANCELED);
    assert_int_equal(later_transfer_result, CORO_ECANCELED);
    assert_int_equal(N(out), 5);
    assert_int_equal(coro_status(transfer_partner), CORO_SUSPENDED); /* untouched */
    assert_false(coro_cancelled(transfer_partner));
    assert_int_equal(coro_resume(transfer_partner, NULL, NULL), CORO_OK);
    assert_int_equal(coro_destroy(transfer_partner), CORO_OK);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* A cancelled coroutine cancels its own children on the way out, and can
 * still resume them meanwhile. */
static void *parent_with_children(void *value)
{
    (void)value;
    coro *children[2];
    for (int i = 0; i < 2; i++) {
        coro_create(&children[i], loop_until_cancelled, NULL);
        coro_resume(children[i], NULL, NULL);
    }
    while (coro_yield(NULL, NULL) == CORO_OK) {
    }
    /* Unwinding: a resume still runs the child. */
    void *out = NULL;
    int resumed = coro_resume(children[0], NULL, &out);
    int sum = 0;
    for (int i = 0; i < 2; i++) {
        void *result = NULL;
        if (coro_cancel(children[i], &result) == CORO_OK && N(result) == 42)
            sum++;
        coro_destroy(children[i]);
    }
    return V(resumed == CORO_OK && N(out) == 1 ? sum : -1);
}

static void test_cancelled_coroutine_cancels_children(void **state)
{
    (void)state;
    reset();
    make_spare();
    coro *co;
    assert_int_equal(coro_create(&co, parent_with_children, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    void *out;
    assert_int_equal(coro_cancel(co, &out), CORO_OK);
    assert_int_equal(N(out), 2);
    assert_int_equal(cleanups, 2);
    assert_int_equal(coro_destroy(co), CORO_OK);
    drop_spare();
}

/* Misuse: every code, and nothing changes. */
static coro *misuse_outer;
static int misuse_codes[4];

static void *misuse_inner(void *value)
{
    (void)value;
    misuse_codes[0] = coro_cancel(coro_running(), NULL);
    misuse_codes[1] = coro_cancel(misuse_outer, NULL);
    /* The thread's own context, suspended while a transfer chain runs. */
    return NULL;
}

static void *misuse_outer_entry(void *value)
{
    coro *inner = value;
    coro_resume(inner, NULL, NULL);
    return NULL;
}

static void *cancel_thread_context(void *value)
{
    (void)value;
    misuse_codes[2] = coro_cancel(coro_thread(), NULL);
    misuse_codes[3] = coro_status(coro_thread());
    return NULL;
}

static void test_cancel_misuse(void **state)
{
    (void)state;
    assert_int_equal(coro_cancel(NULL, NULL), CORO_EINVAL);
    assert_int_equal(coro_cancel(coro_thread(), NULL), CORO_ERUNNING);
    assert_false(coro_cancelled(NULL));

    coro *inner;
    assert_int_equal(coro_create(&inner, misuse_inner, NULL), CORO_OK);
    assert_int_equal(coro_create(&misuse_outer, misuse_outer_entry, NULL), CORO_OK);
    assert_int_equal(coro_resume(misuse_outer, inner, NULL), CORO_OK);
    assert_int_equal(misuse_codes[0], CORO_ERUNNING);
    assert_int_equal(misuse_codes[1], CORO_ENORMAL);
    assert_false(coro_cancelled(inner));
    assert_false(coro_cancelled(misuse_outer));
    assert_int_equal(coro_status(misuse_outer), CORO_DEAD);

    /* Entered by a transfer, so the thread's own context is suspended. */
    coro *co;
    assert_int_equal(coro_create(&co, cancel_thread_context, NULL), CORO_OK);
    assert_int_equal(coro_transfer(co, NULL, NULL), CORO_OK);
    assert_int_equal(misuse_codes[2], CORO_ETHREAD);
    assert_int_equal(misuse_codes[3], CORO_SUSPENDED);
    assert_false(coro_cancelled(coro_thread()));
    assert_int_equal(coro_destroy(co), CORO_OK);
    assert_int_equal(coro_destroy(inner), CORO_OK);
    assert_int_equal(coro_destroy(misuse_outer), CORO_OK);
}

/* Running on another thread: ERUNNING, and it goes on undisturbed. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int other_started, other_may_finish, other_parked;

/* Waits, on the other thread, until the test lets it finish; then gives
 * control back to that thread's own context. */
static void *return_to_thread(void *value)
{
    (void)value;
    pthread_mutex_lock(&lock);
    other_parked = 1;
    pthread_cond_broadcast(&changed);
    while (!other_may_finish)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *wait_on_other_thread(void *value)
{
    (void)value;
    pthread_mutex_lock(&lock);
    other_started = 1;
    pthread_cond_broadcast(&changed);
    while (!other_may_finish)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    return V(9);
}

static void *run_on_thread(void *arg)
{
    void *out = NULL;
    int result = coro_resume(arg, NULL, &out);
    return V(result == CORO_OK && N(out) == 9);
}

static void test_cancel_from_another_thread(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, wait_on_other_thread, NULL), CORO_OK);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, run_on_thread, co), 0);
    pthread_mutex_lock(&lock);
    while (!other_started)
        pthread_cond_wait(&changed, &lock);
    /* co's status is read under the lock the coroutine holds meanwhile. */
    assert_int_equal(coro_cancel(co, NULL), CORO_ERUNNING);
    assert_false(coro_cancelled(co));
    other_may_finish = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    void *ok;
    assert_int_equal(pthread_join(thread, &ok), 0);
    assert_int_equal(N(ok), 1);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

static void test_cancel_strerror(void **state)
{
    (void)state;
    assert_string_equal(coro_strerror(CORO_ECANCELED), "the coroutine is being cancelled");
    assert_string_not_equal(coro_strerror(CORO_ECANCELED), coro_strerror(-1));
}

/*
 * The hook. A log of events shows the order: the hook runs after the caller
 * is suspended and before the target goes on.
 */
static char events[64];
static size_t event_count;

static void event(char c)
{
    if (event_count < sizeof events - 1)
        events[event_count++] = c;
    events[event_count] = '\0';
}

static void reset_events(void)
{
    event_count = 0;
    events[0] = '\0';
}

struct seen {
    coro *from;
    enum coro_status from_status;
    coro *running;
    int yield_result, transfer_result;
    char name[CORO_NAME_MAX];
};

static void record_hook(void *arg, coro *from)
{
    struct seen *seen = arg;
    event('h');
    seen->from = from;
    seen->from_status = coro_status(from);
    seen->running = coro_running();
    seen->yield_result = coro_yield(NULL, NULL);
    seen->transfer_result = coro_transfer(spare, NULL, NULL);
    strcpy(seen->name, coro_name(coro_running()));
}

static void *log_and_yield(void *value)
{
    event('e');
    void *got = NULL;
    coro_yield(value, &got);
    event('r');
    return got;
}

static void test_resume_with(void **state)
{
    (void)state;
    reset_events();
    make_spare();
    coro *co;
    assert_int_equal(coro_create(&co, log_and_yield, NULL), CORO_OK);
    struct seen seen;
    memset(&seen, 0, sizeof seen);
    void *out = NULL;
    /* Not started yet: the hook runs before the entry. */
    assert_int_equal(coro_resume_with(co, V(3), &out, record_hook, &seen), CORO_OK);
    assert_string_equal(events, "he");
    assert_int_equal(N(out), 3);
    assert_ptr_equal(seen.from, coro_thread());
    assert_int_equal(seen.from_status, CORO_NORMAL);
    assert_ptr_not_equal(seen.running, co);
    assert_ptr_not_equal(seen.running, coro_thread());
    assert_string_equal(seen.name, "hook");
    assert_int_equal(seen.yield_result, CORO_EOUTSIDE);
    assert_int_equal(seen.transfer_result, CORO_EOUTSIDE);

    /* Started: the hook runs before its pending yield returns. */
    memset(&seen, 0, sizeof seen);
    assert_int_equal(coro_resume_with(co, V(4), &out, record_hook, &seen), CORO_OK);
    assert_string_equal(events, "hehr");
    assert_int_equal(N(out), 4);
    assert_int_equal(seen.from_status, CORO_NORMAL);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_ptr_equal(coro_running(), coro_thread());
    assert_int_equal(coro_destroy(co), CORO_OK);
    drop_spare();
}

/* The caller of coro_yield_with is fully suspended when the hook runs: the
 * hook can resume it (it runs on its own stack while the hook waits on the
 * other), and it yields back into the hook. */
static int resumed_inside_hook;

static void resume_from_hook(void *arg, coro *from)
{
    (void)arg;
    event('h');
    void *out = NULL;
    if (coro_status(from) == CORO_SUSPENDED && coro_resume(from, V(10), &out) == CORO_OK && N(out) == 11)
        resumed_inside_hook = 1;
    event('H');
}

static void *yield_with_hook(void *value)
{
    (void)value;
    event('e');
    void *got = NULL;
    int result = coro_yield_with(V(1), &got, resume_from_hook, NULL);
    /* First comes the hook's resume. */
    event(result == CORO_OK && N(got) == 10 ? 'a' : '?');
    result = coro_yield(V(11), &got);
    event(result == CORO_OK && N(got) == 12 ? 'b' : '?');
    return V(13);
}

static void test_yield_with(void **state)
{
    (void)state;
    reset_events();
    resumed_inside_hook = 0;
    coro *co;
    assert_int_equal(coro_create(&co, yield_with_hook, NULL), CORO_OK);
    void *out = NULL;
    assert_int_equal(coro_resume(co, NULL, &out), CORO_OK);
    assert_int_equal(N(out), 1);
    assert_string_equal(events, "ehaH");
    assert_int_equal(resumed_inside_hook, 1);
    assert_int_equal(coro_status(co), CORO_SUSPENDED);
    assert_int_equal(coro_resume(co, V(12), &out), CORO_OK);
    assert_int_equal(N(out), 13);
    assert_string_equal(events, "ehaHb");
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* A transfer with a hook, to a coroutine and back to the thread's own
 * context. */
static void count_hook(void *arg, coro *from)
{
    (void)from;
    ++*(int *)arg;
    event('h');
}

static void *transfer_back_with(void *value)
{
    int *hooks = value;
    event('e');
    void *got = NULL;
    int result = coro_transfer_with(coro_thread(), V(20), &got, count_hook, hooks);
    event(result == CORO_OK && N(got) == 21 ? 'b' : '?');
    return V(22);
}

static void test_transfer_with(void **state)
{
    (void)state;
    reset_events();
    int hooks = 0;
    coro *co;
    assert_int_equal(coro_create(&co, transfer_back_with, NULL), CORO_OK);
    void *out = NULL;
    assert_int_equal(coro_transfer_with(co, &hooks, &out, count_hook, &hooks), CORO_OK);
    assert_int_equal(N(out), 20);
    assert_int_equal(hooks, 2);
    assert_string_equal(events, "heh");
    assert_int_equal(coro_transfer_with(co, V(21), &out, count_hook, &hooks), CORO_OK);
    assert_int_equal(N(out), 22);
    assert_int_equal(hooks, 3);
    assert_string_equal(events, "hehhb");
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* A failing call runs no hook and changes nothing. */
static int hook_misuse_codes[4];
static int hook_misuse_runs;

static void must_not_run(void *arg, coro *from)
{
    (void)arg, (void)from;
    hook_misuse_runs++;
}

static void *misuse_hooks_while_cancelled(void *value)
{
    (void)value;
    while (coro_yield(NULL, NULL) == CORO_OK) {
    }
    hook_misuse_codes[0] = coro_yield_with(NULL, NULL, must_not_run, NULL);
    hook_misuse_codes[1] = coro_transfer_with(spare, NULL, NULL, must_not_run, NULL);
    hook_misuse_codes[2] = coro_yield_with(NULL, NULL, NULL, NULL);
    return NULL;
}

static void test_hook_misuse(void **state)
{
    (void)state;
    hook_misuse_runs = 0;
    make_spare();
    coro *co;
    assert_int_equal(coro_create(&co, misuse_hooks_while_cancelled, NULL), CORO_OK);
    assert_int_equal(coro_resume_with(co, NULL, NULL, NULL, NULL), CORO_EINVAL);
    assert_int_equal(coro_transfer_with(co, NULL, NULL, NULL, NULL), CORO_EINVAL);
    assert_int_equal(coro_resume_with(NULL, NULL, NULL, must_not_run, NULL), CORO_EINVAL);
    assert_int_equal(coro_transfer_with(NULL, NULL, NULL, must_not_run, NULL), CORO_EINVAL);
    assert_int_equal(coro_yield_with(NULL, NULL, must_not_run, NULL), CORO_EOUTSIDE);
    assert_int_equal(coro_resume_with(coro_thread(), NULL, NULL, must_not_run, NULL), CORO_ERUNNING);
    assert_int_equal(coro_transfer_with(coro_thread(), NULL, NULL, must_not_run, NULL), CORO_ERUNNING);
    assert_int_equal(coro_status(co), CORO_SUSPENDED);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(coro_cancel(co, NULL), CORO_OK);
    assert_int_equal(hook_misuse_codes[0], CORO_ECANCELED);
    assert_int_equal(hook_misuse_codes[1], CORO_ECANCELED);
    assert_int_equal(hook_misuse_codes[2], CORO_ECANCELED);
    assert_int_equal(coro_resume_with(co, NULL, NULL, must_not_run, NULL), CORO_EDEAD);
    assert_int_equal(coro_transfer_with(co, NULL, NULL, must_not_run, NULL), CORO_EDEAD);
    assert_int_equal(hook_misuse_runs, 0);
    assert_int_equal(coro_destroy(co), CORO_OK);
    drop_spare();
}

/* Many hooked round trips on one coroutine: the abandoned hook frames must
 * leave nothing behind (a sanitizer's per-call state would grow here). */
static void *yield_forever(void *value)
{
    while (coro_yield(value, &value) == CORO_OK) {
    }
    return value;
}

static void test_many_hooks(void **state)
{
    (void)state;
    reset_events();
    int hooks = 0;
    coro *co;
    assert_int_equal(coro_create(&co, yield_forever, NULL), CORO_OK);
    for (int i = 0; i < 100000; i++) {
        void *out = NULL;
        assert_int_equal(coro_resume_with(co, V(i), &out, count_hook, &hooks), CORO_OK);
        assert_int_equal(N(out), (uintptr_t)i);
        reset_events();
    }
    assert_int_equal(hooks, 100000);
    assert_int_equal(coro_cancel(co, NULL), CORO_OK);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* Inside a hook: the _with calls refuse to switch away too, and a hooked
 * resume from the hook works like a plain one. */
static int inner_hook_codes[3];
static int inner_hook_runs;

static void inner_hook(void *arg, coro *from)
{
    (void)arg, (void)from;
    inner_hook_runs++;
}

static void nested_hooks(void *arg, coro *from)
{
    (void)from;
    coro *child = arg;
    inner_hook_codes[0] = coro_yield_with(NULL, NULL, inner_hook, NULL);
    inner_hook_codes[1] = coro_transfer_with(spare, NULL, NULL, inner_hook, NULL);
    void *out = NULL;
    int resumed = coro_resume_with(child, V(30), &out, inner_hook, NULL);
    inner_hook_codes[2] = resumed == CORO_OK && N(out) == 30 ? CORO_OK : -1;
}

static void test_hook_inside_hook(void **state)
{
    (void)state;
    make_spare();
    inner_hook_runs = 0;
    coro *co, *child;
    assert_int_equal(coro_create(&co, yield_forever, NULL), CORO_OK);
    assert_int_equal(coro_create(&child, yield_forever, NULL), CORO_OK);
    assert_int_equal(coro_resume_with(co, V(1), NULL, nested_hooks, child), CORO_OK);
    assert_int_equal(inner_hook_codes[0], CORO_EOUTSIDE);
    assert_int_equal(inner_hook_codes[1], CORO_EOUTSIDE);
    assert_int_equal(inner_hook_codes[2], CORO_OK);
    assert_int_equal(inner_hook_runs, 1);
    assert_int_equal(coro_status(child), CORO_SUSPENDED);
    assert_int_equal(coro_cancel(child, NULL), CORO_OK);
    assert_int_equal(coro_cancel(co, NULL), CORO_OK);
    assert_int_equal(coro_destroy(child), CORO_OK);
    assert_int_equal(coro_destroy(co), CORO_OK);
    drop_spare();
}

/* More refusals: the thread's own context as a hooked target, and a NULL
 * hook from inside a coroutine. */
static int thread_target_codes[3];

static void *hook_misuse_inside(void *value)
{
    (void)value;
    thread_target_codes[0] = coro_yield_with(NULL, NULL, NULL, NULL);
    /* Entered by a transfer: the thread's context is suspended. */
    thread_target_codes[1] = coro_resume_with(coro_thread(), NULL, NULL, must_not_run, NULL);
    thread_target_codes[2] = coro_status(coro_thread());
    return NULL;
}

static coro *other_threads_context;

static void *remember_thread_context(void *value)
{
    (void)value;
    coro *self = coro_thread();
    pthread_mutex_lock(&lock);
    other_threads_context = self;
    pthread_mutex_unlock(&lock);
    coro *co;
    if (coro_create(&co, return_to_thread, NULL) != CORO_OK)
        return V(0);
    /* Leaves this thread's context suspended in a transfer until the test
     * lets co return to it. */
    int transferred = coro_transfer(co, NULL, NULL);
    return V(transferred == CORO_OK && coro_destroy(co) == CORO_OK);
}

static void test_hook_misuse_more(void **state)
{
    (void)state;
    hook_misuse_runs = 0;
    coro *co;
    assert_int_equal(coro_create(&co, hook_misuse_inside, NULL), CORO_OK);
    assert_int_equal(coro_transfer(co, NULL, NULL), CORO_OK);
    assert_int_equal(thread_target_codes[0], CORO_EINVAL);
    assert_int_equal(thread_target_codes[1], CORO_ETHREAD);
    assert_int_equal(thread_target_codes[2], CORO_SUSPENDED);
    assert_int_equal(coro_destroy(co), CORO_OK);

    /* Another thread's context, suspended in a transfer there. */
    pthread_t thread;
    other_may_finish = 0;
    assert_int_equal(pthread_create(&thread, NULL, remember_thread_context, NULL), 0);
    pthread_mutex_lock(&lock);
    while (other_threads_context == NULL || !other_parked)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    assert_int_equal(coro_status(other_threads_context), CORO_SUSPENDED);
    assert_int_equal(coro_transfer_with(other_threads_context, NULL, NULL, must_not_run, NULL), CORO_ETHREAD);
    assert_int_equal(coro_resume_with(other_threads_context, NULL, NULL, must_not_run, NULL), CORO_ETHREAD);
    assert_int_equal(coro_cancel(other_threads_context, NULL), CORO_ETHREAD);
    assert_int_equal(coro_status(other_threads_context), CORO_SUSPENDED);
    assert_int_equal(hook_misuse_runs, 0);
    pthread_mutex_lock(&lock);
    other_may_finish = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    void *ok;
    assert_int_equal(pthread_join(thread, &ok), 0);
    assert_int_equal(N(ok), 1);
}

/* A cancelled coroutine's stack goes back to the pool at destroy, as any
 * other's: the cancelled state ends with the entry. */
static void test_cancelled_stack_is_pooled(void **state)
{
    (void)state;
    make_spare();
    coro_pool_trim(0);
    coro *co;
    assert_int_equal(coro_create(&co, loop_until_cancelled, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(coro_cancel(co, NULL), CORO_OK);
    size_t before, after;
    coro_pool_usage(&before, NULL);
    assert_int_equal(coro_destroy(co), CORO_OK);
    coro_pool_usage(&after, NULL);
    assert_int_equal(after, before + 1);
    drop_spare();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_suspended_in_yield),
        cmocka_unit_test(test_cancel_never_started),
        cmocka_unit_test(test_cancel_suspended_in_transfer),
        cmocka_unit_test(test_cancelled_coroutine_cancels_children),
        cmocka_unit_test(test_cancel_misuse),
        cmocka_unit_test(test_cancel_from_another_thread),
        cmocka_unit_test(test_cancel_strerror),
        cmocka_unit_test(test_resume_with),
        cmocka_unit_test(test_yield_with),
        cmocka_unit_test(test_transfer_with),
        cmocka_unit_test(test_hook_misuse),
        cmocka_unit_test(test_many_hooks),
        cmocka_unit_test(test_hook_inside_hook),
        cmocka_unit_test(test_hook_misuse_more),
        cmocka_unit_test(test_cancelled_stack_is_pooled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
