/*
 * What a signal handler may rely on (coro.h, coro_running()): outside
 * libcoro's calls, coro_running() is exactly the context the signal
 * interrupted; while a switch is in progress it is the context being left
 * or the one being entered, never anything else. A storm of SIGALRMs lands
 * at random points of a resume/yield loop; the handler compares
 * coro_running() with the stack it runs on (no alternate signal stack: the
 * handler runs on the interrupted stack). POSIX only.
 */
#define _DEFAULT_SOURCE

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <sys/time.h>
#include <cmocka.h>

#include "coro.h"
#include "sanitizer_build.h"

static _Alignas(64) char coroutine_stack[64 * 1024];
static coro *coroutine;
static coro *thread_context;

/* 1 from just before a resume or yield until just after it returns. */
static volatile sig_atomic_t in_library;

static volatile sig_atomic_t signals;
static volatile sig_atomic_t inside_switch;
static volatile sig_atomic_t inside_switch_ahead;
static volatile sig_atomic_t neither_context;
static volatile sig_atomic_t wrong_outside_switch;
static volatile sig_atomic_t inside_disagrees;

static void on_alarm(int signal_number)
{
    (void)signal_number;
    /* The frame address, not a local's, which ASan may move elsewhere. */
    const char *here = __builtin_frame_address(0);
    int on_coroutine_stack = here >= coroutine_stack && here < coroutine_stack + sizeof coroutine_stack;
    coro *running = coro_running();
    signals++;
    if (running != coroutine && running != thread_context) {
        neither_context++;
        return;
    }
    if (coro_inside() != (running == coroutine))
        inside_disagrees++;
    int agrees = (running == coroutine) == on_coroutine_stack;
    if (!in_library) {
        if (!agrees)
            wrong_outside_switch++;
    } else {
        inside_switch++;
        if (!agrees)
            inside_switch_ahead++;
    }
}

static void *ping(void *value)
{
    (void)value;
    for (;;) {
        in_library = 0;
        /* Some work outside the library, on this stack. */
        for (volatile int i = 0; i < 20; i++) {
        }
        in_library = 1;
        coro_yield(NULL, NULL);
    }
    return NULL;
}

static void test_running_in_signal_handler_during_switches(void **state)
{
    (void)state;
    if (BUILT_WITH_TSAN_VALUE) {
        /* TSan holds asynchronous signals back until the thread enters one
         * of its interceptors: no handler would run inside a switch, and
         * this loop calls none. */
        print_message("not run under ThreadSanitizer\n");
        skip();
    }
    thread_context = coro_thread();
    struct coro_options options = {.stack = coroutine_stack, .stack_size = sizeof coroutine_stack};
    assert_int_equal(coro_create(&coroutine, ping, &options), CORO_OK);

    struct sigaction action = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigemptyset(&action.sa_mask);
    struct sigaction previous;
    assert_int_equal(sigaction(SIGALRM, &action, &previous), 0);
    struct itimerval every_20us = {.it_interval = {.tv_usec = 20}, .it_value = {.tv_usec = 20}};
    assert_int_equal(setitimer(ITIMER_REAL, &every_20us, NULL), 0);

    /* The timer runs on wall time, so the loop ends however slowly it
     * runs (an emulator, valgrind). */
    unsigned long round_trips = 0;
    while (signals < 3000) {
        in_library = 1;
        assert_int_equal(coro_resume(coroutine, NULL, NULL), CORO_OK);
        in_library = 0;
        round_trips++;
    }

    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    /* A SIGALRM may still be pending: ignoring it discards it, so that the
     * previous disposition (by default, termination) never sees it. */
    signal(SIGALRM, SIG_IGN);
    sigaction(SIGALRM, &previous, NULL);
    print_message("%lu round trips, %d signals: %d inside a switch, %d of them saw the context being entered "
                  "on the old stack\n",
                  round_trips, (int)signals, (int)inside_switch, (int)inside_switch_ahead);
    assert_int_equal(neither_context, 0);
    assert_int_equal(wrong_outside_switch, 0);
    assert_int_equal(inside_disagrees, 0);
    assert_int_equal(coro_destroy(coroutine), CORO_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_running_in_signal_handler_during_switches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
