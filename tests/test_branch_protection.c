/*
 * AArch64 built with BTI (-mbranch-protection=standard): the switch, the
 * trampoline and the public API work with every page of this executable
 * guarded, where an indirect branch that lands anywhere but on a landing pad
 * raises SIGILL.
 *
 * The linker marks an executable as BTI-compatible only when every input
 * object is, and startup files without the marking (Debian 12's crt1.o and
 * crtbegin.o, for one) leave it unmarked, so neither the kernel nor
 * qemu-user would guard its pages. The test therefore guards them itself
 * with mprotect(PROT_BTI), in a child process, around code whose every
 * indirect-branch target is built with landing pads. It is linked with
 * -z now: a lazily bound PLT would branch to its resolver stub, which has
 * no landing pad.
 *
 * Exits 77 (skipped) on a CPU without BTI: there is nothing to enforce.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <link.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coro.h"

#ifndef HWCAP2_BTI
#define HWCAP2_BTI (1UL << 17)
#endif

#define V(n) ((void *)(uintptr_t)(n))
#define N(p) ((uintptr_t)(p))

int bti_probe_without_landing_pad(void);

static int guard_main_program(struct dl_phdr_info *info, size_t size, void *failed)
{
    (void)size;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X))
            continue;
        uintptr_t start = (info->dlpi_addr + segment->p_vaddr) & ~(page - 1);
        uintptr_t end = (info->dlpi_addr + segment->p_vaddr + segment->p_memsz + page - 1) & ~(page - 1);
        if (mprotect((void *)start, end - start, PROT_READ | PROT_EXEC | PROT_BTI) != 0)
            *(int *)failed = 1;
    }
    return 1; /* the first object listed is the main program: stop there */
}

/* Runs body in a child process with this executable's code guarded; returns
 * the child's wait status. The child exits 0 when body returns 0. */
static int status_of_guarded_child(int (*body)(void))
{
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* cmocka catches SIGILL to report a failed test; the child must die of it. */
        signal(SIGILL, SIG_DFL);
        int failed = 0;
        dl_iterate_phdr(guard_main_program, &failed);
        if (failed)
            _exit(100);
        _exit(body());
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    return status;
}

static int call_without_landing_pad(void)
{
    int (*volatile probe)(void) = bti_probe_without_landing_pad;
    return probe() == 1 ? 0 : 1;
}

/* The control: without it, a passing test below could mean that nothing was
 * enforced at all. */
static void test_guarding_is_enforced(void **state)
{
    (void)state;
    int status = status_of_guarded_child(call_without_landing_pad);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGILL);
}

static coro *partner;

static void *counting_entry(void *value)
{
    for (int i = 0; i < 3; i++)
        coro_yield(V(N(value) + 1), &value);
    return V(N(value) + 100);
}

static void *transferring_entry(void *value)
{
    void *back = NULL;
    coro_transfer(partner, V(N(value) * 2), &back);
    return V(N(back) + 1);
}

/* Every path through the switch: the first entry through the trampoline,
 * yields and resumes, a transfer, an entry's return. Returns 0 when every
 * value arrived where coro.h says it goes. */
static int run_coroutines(void)
{
    coro *counter;
    coro *transferrer;
    if (coro_create(&counter, counting_entry, NULL) != CORO_OK ||
        coro_create(&partner, counting_entry, NULL) != CORO_OK ||
        coro_create(&transferrer, transferring_entry, NULL) != CORO_OK)
        return 2;
    void *out = NULL;
    uintptr_t expected[] = {11, 21, 31, 140};
    for (uintptr_t i = 0; i < 4; i++) {
        if (coro_resume(counter, V(10 * (i + 1)), &out) != CORO_OK || N(out) != expected[i])
            return 3;
    }
    /* The transfer's target takes the transferrer's place: its yield comes back here. */
    if (coro_resume(transferrer, V(5), &out) != CORO_OK || N(out) != 11)
        return 4;
    if (coro_status(transferrer) != CORO_SUSPENDED || coro_status(partner) != CORO_SUSPENDED)
        return 5;
    coro_destroy(counter);
    coro_destroy(partner);
    coro_destroy(transferrer);
    return 0;
}

static void test_switches_run_guarded(void **state)
{
    (void)state;
    int status = status_of_guarded_child(run_coroutines);
    if (WIFSIGNALED(status))
        print_error("the child died of signal %d\n", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    if (!(getauxval(AT_HWCAP2) & HWCAP2_BTI)) {
        fprintf(stderr, "test_branch_protection: this CPU has no BTI; nothing to enforce\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guarding_is_enforced),
        cmocka_unit_test(test_switches_run_guarded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
