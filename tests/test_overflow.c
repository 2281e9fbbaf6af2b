/*
 * The opt-in overflow report: a real overflow prints one line and the
 * process still dies by SIGSEGV; other faults are not reported and reach the
 * handler that was installed before. Every case crashes, so each runs in a
 * forked child whose stderr the parent reads from a pipe.
 */
#define _DEFAULT_SOURCE /* sigaltstack, SA_ONSTACK, siglongjmp under -std=c11 */

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "coro.h"
#include "overflow_report.h"
#include "child.h"

/* A sanitizer runtime may have installed its own SIGSEGV handler, which
 * would turn the death by signal into an exit; the cases below start from
 * the system's defaults so they mean the same in every build. */
static void start_from_default_handlers(void)
{
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
}

static void assert_died_by(const struct child_result *result, int signal_number)
{
    if (!WIFSIGNALED(result->status)) {
        print_error("child exited with %d instead of dying by signal %d; it wrote:\n%s\n",
                    WIFEXITED(result->status) ? WEXITSTATUS(result->status) : -1, signal_number,
                    result->output);
        fail();
    }
    assert_int_equal(WTERMSIG(result->status), signal_number);
}

static void *null_returning_entry(void *value)
{
    return value;
}

static void *overflowing_entry(void *value)
{
    (void)value;
    return (void *)recurse(NULL, 0);
}

static void overflow_in(const char *name, size_t stack_size)
{
    start_from_default_handlers();
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
    struct coro_options options = {.stack_size = stack_size, .name = name};
    coro *co;
    if (coro_create(&co, overflowing_entry, &options) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void overflow_in_named(void)
{
    overflow_in("parser", 64 * 1024);
}

static void overflow_in_unnamed(void)
{
    overflow_in(NULL, 16 * 1024);
}

static void test_named_overflow_is_reported(void **state)
{
    (void)state;
    struct child_result result;
    run_child(overflow_in_named, CHILD_STDERR, &result);
    assert_died_by(&result, SIGSEGV);
    assert_one_report(result.output, "libcoro: stack overflow in coroutine \"parser\" (stack 64 KiB, fault at 0x");
}

static void test_unnamed_overflow_is_reported(void **state)
{
    (void)state;
    struct child_result result;
    run_child(overflow_in_unnamed, CHILD_STDERR, &result);
    assert_died_by(&result, SIGSEGV);
    assert_one_report(result.output, "libcoro: stack overflow in unnamed coroutine (stack 16 KiB, fault at 0x");
}

/* A stack size that is not whole KiB is quoted in bytes. */
static void overflow_in_odd_size(void)
{
    overflow_in("odd", 40000);
}

static void test_odd_stack_size_is_quoted_in_bytes(void **state)
{
    (void)state;
    struct child_result result;
    run_child(overflow_in_odd_size, CHILD_STDERR, &result);
    assert_died_by(&result, SIGSEGV);
    assert_one_report(result.output, "libcoro: stack overflow in coroutine \"odd\" (stack 40000 bytes, fault at 0x");
}

/* A name with a newline and a quote still gives one line. */
static void overflow_in_awkward_name(void)
{
    overflow_in("a\"b\nc", 64 * 1024);
}

static void test_awkward_name_stays_on_one_line(void **state)
{
    (void)state;
    struct child_result result;
    run_child(overflow_in_awkward_name, CHILD_STDERR, &result);
    assert_died_by(&result, SIGSEGV);
    assert_one_report(result.output, "libcoro: stack overflow in coroutine \"a?b?c\" (stack 64 KiB, fault at 0x");
}

/* A stack from an arena has the arena's guard below it, and its size is
 * the arena slot's usable bytes (at least what the arena was asked for). */
static void overflow_in_arena(void)
{
    start_from_default_handlers();
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
    coro_arena *arena;
    if (coro_arena_create(&arena, 4, 64 * 1024, 0) != CORO_OK)
        _exit(5);
    struct coro_options options = {.arena = arena, .name = "slot"};
    coro *co;
    if (coro_create(&co, overflowing_entry, &options) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void test_overflow_in_arena_is_reported(void **state)
{
    (void)state;
    struct child_result result;
    run_child(overflow_in_arena, CHILD_STDERR, &result);
    assert_died_by(&result, SIGSEGV);
    static const char start[] = "libcoro: stack overflow in coroutine \"slot\" (stack ";
    assert_true(strncmp(result.output, start, sizeof start - 1) == 0);
    char *end;
    unsigned long bytes = strtoul(result.output + sizeof start - 1, &end, 10);
    assert_true(bytes >= 64 * 1024);
    assert_true(strncmp(end, " bytes, fault at 0x", 19) == 0 || strncmp(end, " KiB, fault at 0x", 17) == 0);
    assert_int_equal(count_lines(result.output), 1);
}

/* Pooled stacks: a coroutine's stack comes back to the thread's pool at
 * destroy and serves the next coroutine of that shape, guard and all. */
static void overflow_on_pooled_stack(void)
{
    start_from_default_handlers();
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
    struct coro_options options = {.stack_size = 64 * 1024, .name = "first"};
    coro *co;
    if (coro_create(&co, null_returning_entry, &options) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    coro_destroy(co);
    options.name = "second";
    if (coro_create(&co, overflowing_entry, &options) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void test_overflow_on_pooled_stack_is_reported(void **state)
{
    (void)state;
    struct child_result result;
    run_child(overflow_on_pooled_stack, CHILD_STDERR, &result);
    assert_died_by(&result, SIGSEGV);
    assert_one_report(result.output, "libcoro: stack overflow in coroutine \"second\" (stack 64 KiB, fault at 0x");
}

static volatile int *volatile nowhere;

/* UBSan would stop at the null store itself; the test wants the fault. */
__attribute__((no_sanitize("null"))) static void *null_dereferencing_entry(void *value)
{
    (void)value;
    *nowhere = 1;
    return NULL;
}

static void null_dereference_in_coroutine(void)
{
    start_from_default_handlers();
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
    struct coro_options options = {.name = "careless"};
    coro *co;
    if (coro_create(&co, null_dereferencing_entry, &options) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void test_null_dereference_is_not_an_overflow(void **state)
{
    (void)state;
    struct child_result result;
    run_child(null_dereference_in_coroutine, CHILD_STDERR, &result);
    assert_died_by(&result, SIGSEGV);
    assert_string_equal(result.output, "");
}

/* The handler installed before libcoro's: it records the faults it gets. It
 * recovers from the first (a fault outside any coroutine), and ends the
 * process with a code of its own at the second. */
static sigjmp_buf recovery;
static volatile sig_atomic_t faults_seen;
static volatile sig_atomic_t fault_address_right;

static void previous_siginfo_handler(int signal_number, siginfo_t *info, void *context)
{
    (void)signal_number, (void)context;
    faults_seen++;
    fault_address_right = info->si_addr == (void *)nowhere;
    if (faults_seen == 1)
        siglongjmp(recovery, 1);
    static const char message[] = "previous handler\n";
    ssize_t written = write(STDERR_FILENO, message, sizeof message - 1);
    (void)written;
    _exit(fault_address_right ? 42 : 43);
}

static void previous_plain_handler(int signal_number)
{
    (void)signal_number;
    static const char message[] = "previous plain handler\n";
    ssize_t written = write(STDERR_FILENO, message, sizeof message - 1);
    (void)written;
    _exit(44);
}

__attribute__((no_sanitize("null"))) static void previous_siginfo_handler_keeps_its_faults(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = previous_siginfo_handler;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, NULL);
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);

    /* Outside a coroutine: the previous handler gets it, and may recover. */
    if (sigsetjmp(recovery, 1) == 0)
        *nowhere = 1;
    if (faults_seen != 1 || !fault_address_right)
        _exit(5);

    /* Inside a coroutine: the same. */
    coro *co;
    if (coro_create(&co, null_dereferencing_entry, NULL) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void test_previous_siginfo_handler_keeps_its_faults(void **state)
{
    (void)state;
    struct child_result result;
    run_child(previous_siginfo_handler_keeps_its_faults, CHILD_STDERR, &result);
    assert_true(WIFEXITED(result.status));
    assert_int_equal(WEXITSTATUS(result.status), 42);
    assert_string_equal(result.output, "previous handler\n");
}

static void previous_plain_handler_keeps_its_faults(void)
{
    signal(SIGSEGV, previous_plain_handler);
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
    coro *co;
    if (coro_create(&co, null_dereferencing_entry, NULL) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void test_previous_plain_handler_keeps_its_faults(void **state)
{
    (void)state;
    struct child_result result;
    run_child(previous_plain_handler_keeps_its_faults, CHILD_STDERR, &result);
    assert_true(WIFEXITED(result.status));
    assert_int_equal(WEXITSTATUS(result.status), 44);
    assert_string_equal(result.output, "previous plain handler\n");
}

/* An overflow is reported, then the previous handler still sees the
 * genuine fault (a crash reporter would write its dump there). It runs on
 * the alternate stack: the overflowed one has no room. */
static void previous_handler_sees_overflow_after_report(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = previous_plain_handler;
    action.sa_flags = SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, NULL);
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
    struct coro_options options = {.stack_size = 32 * 1024, .name = "deep"};
    coro *co;
    if (coro_create(&co, overflowing_entry, &options) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void test_previous_handler_sees_overflow_after_report(void **state)
{
    (void)state;
    struct child_result result;
    run_child(previous_handler_sees_overflow_after_report, CHILD_STDERR, &result);
    assert_true(WIFEXITED(result.status));
    assert_int_equal(WEXITSTATUS(result.status), 44);
    const char *second_line = strchr(result.output, '\n');
    assert_non_null(second_line);
    assert_string_equal(second_line + 1, "previous plain handler\n");
    assert_true(strncmp(result.output, "libcoro: stack overflow in coroutine \"deep\" (stack 32 KiB", 56) == 0);
}

/* A fault ignored before (SIG_IGN) still kills: the kernel never lets a
 * hardware fault be ignored, and the report must not change that. */
static void ignored_fault_still_kills(void)
{
    signal(SIGSEGV, SIG_IGN);
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
    coro *co;
    if (coro_create(&co, null_dereferencing_entry, NULL) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void test_ignored_fault_still_kills(void **state)
{
    (void)state;
    struct child_result result;
    run_child(ignored_fault_still_kills, CHILD_STDERR, &result);
    assert_died_by(&result, SIGSEGV);
    assert_string_equal(result.output, "");
}

/* SIGSEGV sent with kill() is not a fault: ignored before, ignored now. */
static void sent_signal_ignored_before(void)
{
    signal(SIGSEGV, SIG_IGN);
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
    raise(SIGSEGV);
    _exit(7);
}

static void test_sent_signal_ignored_before_stays_ignored(void **state)
{
    (void)state;
    struct child_result result;
    run_child(sent_signal_ignored_before, CHILD_STDERR, &result);
    assert_true(WIFEXITED(result.status));
    assert_int_equal(WEXITSTATUS(result.status), 7);
}

/* A thread that starts after installation gets its alternate stack at its
 * first coroutine, and its overflow is reported too. */

static void *thread_overflowing(void *arg)
{
    (void)arg;
    struct coro_options options = {.stack_size = 64 * 1024, .name = "worker"};
    coro *co;
    if (coro_create(&co, overflowing_entry, &options) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void overflow_on_other_thread(void)
{
    start_from_default_handlers();
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
    pthread_t thread;
    if (pthread_create(&thread, NULL, thread_overflowing, NULL) != 0)
        _exit(5);
    pthread_join(thread, NULL);
    _exit(6);
}

static void test_overflow_on_other_thread_is_reported(void **state)
{
    (void)state;
    struct child_result result;
    run_child(overflow_on_other_thread, CHILD_STDERR, &result);
    assert_died_by(&result, SIGSEGV);
    assert_one_report(result.output, "libcoro: stack overflow in coroutine \"worker\" (stack 64 KiB, fault at 0x");
}

/* Threads that used the handler free their alternate stacks at exit, and
 * installing twice changes nothing. */
static void *thread_running_a_coroutine(void *arg)
{
    coro *co;
    if (coro_create(&co, null_returning_entry, NULL) != CORO_OK)
        return arg;
    coro_resume(co, NULL, NULL);
    coro_destroy(co);
    return NULL;
}

static void test_threads_come_and_go(void **state)
{
    (void)state;
    assert_int_equal(coro_install_overflow_handler(), CORO_OK);
    assert_int_equal(coro_install_overflow_handler(), CORO_OK);
    for (int round = 0; round < 20; round++) {
        pthread_t thread;
        assert_int_equal(pthread_create(&thread, NULL, thread_running_a_coroutine, NULL), 0);
        void *failed;
        assert_int_equal(pthread_join(thread, &failed), 0);
        assert_null(failed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_overflow_is_reported),
        cmocka_unit_test(test_unnamed_overflow_is_reported),
        cmocka_unit_test(test_odd_stack_size_is_quoted_in_bytes),
        cmocka_unit_test(test_awkward_name_stays_on_one_line),
        cmocka_unit_test(test_overflow_in_arena_is_reported),
        cmocka_unit_test(test_overflow_on_pooled_stack_is_reported),
        cmocka_unit_test(test_null_dereference_is_not_an_overflow),
        cmocka_unit_test(test_previous_siginfo_handler_keeps_its_faults),
        cmocka_unit_test(test_previous_plain_handler_keeps_its_faults),
        cmocka_unit_test(test_previous_handler_sees_overflow_after_report),
        cmocka_unit_test(test_ignored_fault_still_kills),
        cmocka_unit_test(test_sent_signal_ignored_before_stays_ignored),
        cmocka_unit_test(test_overflow_on_other_thread_is_reported),
        cmocka_unit_test(test_threads_come_and_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
