/*
 * Built with -fstack-clash-protection, as the README recommends for code
 * that runs on coroutine stacks: a frame far larger than the guard (an
 * alloca of 1 MiB over the default guard) then probes its way down, so the
 * first touch below the stack is in the guard and faults there (the
 * overflow report proves where), instead of landing on whatever lies below.
 * The probes are a page apart on x86-64, but 64 KiB apart on AArch64 (GCC
 * assumes guards of 64 KiB there), which the default guard matches. Runs
 * in a forked child.
 */
#define _DEFAULT_SOURCE

#include <alloca.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "coro.h"
#include "child.h"

#define HUGE_FRAME ((size_t)1024 * 1024)

static volatile size_t frame_size = HUGE_FRAME; /* not a constant: a real alloca */

static void *huge_alloca(void *value)
{
    (void)value;
    volatile char *frame = alloca(frame_size);
    frame[0] = 1;
    return (void *)(uintptr_t)frame[0];
}

static void huge_alloca_over_default_guard(void)
{
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(2);
    struct coro_options opts = {.stack_size = 16 * 1024, .name = "clash"};
    coro *co;
    if (coro_create(&co, huge_alloca, &opts) != CORO_OK)
        _exit(3);
    coro_resume(co, NULL, NULL);
    _exit(4);
}

static void test_huge_alloca_faults_in_the_guard(void **state)
{
    (void)state;
    static struct child_result result;
    run_child(huge_alloca_over_default_guard, CHILD_STDERR, &result);
    if (!WIFSIGNALED(result.status) || WTERMSIG(result.status) != SIGSEGV) {
        print_error("child did not die by SIGSEGV (status %#x); it wrote:\n%s\n", result.status, result.output);
        fail();
    }
    const char *report = "libcoro: stack overflow in coroutine \"clash\" (stack 16 KiB, fault at 0x";
    if (strncmp(result.output, report, strlen(report)) != 0) {
        print_error("expected the fault in the guard; got:\n%s\n", result.output);
        fail();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_alloca_faults_in_the_guard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
