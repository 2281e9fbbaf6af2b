/*
 * The opt-in stack overflow report for POSIX systems.
 *
 * A coroutine that overflows its stack runs into the guard region below it
 * and faults. The kernel cannot deliver that fault on the overflowed stack,
 * so every thread that runs coroutines gets an alternate signal stack, and
 * the handler runs there. It tells an overflow (a fault inside the guard of
 * the coroutine the thread runs) from every other fault:
 *
 *   overflow   one line on stderr, then the disposition that was installed
 *              before comes back and the handler returns: the faulting
 *              instruction runs again and faults for real, so the process
 *              dies by the same signal, with the overflowing frame in the
 *              core file, and a crash reporter installed before still sees
 *              a genuine fault.
 *   otherwise  passed to the disposition installed before, as the kernel
 *              would have delivered it.
 *
 * Everything the handler calls is async-signal-safe: write(2), sigaction(2),
 * raise(3) and plain loads; no allocation, no stdio, no locks.
 */
#define _DEFAULT_SOURCE /* sigaltstack, SA_ONSTACK, MAP_ANONYMOUS under -std=c11 */

#include "overflow.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compiler.h"
#include "coro.h"
#include "stack.h"

/* Linux reports a guard-page fault as SIGSEGV; some other systems (macOS,
 * some BSDs) as SIGBUS. The tables below are indexed like this one. */
static const int handled_signals[] = {SIGSEGV, SIGBUS};
#define HANDLED_COUNT (sizeof handled_signals / sizeof handled_signals[0])

static struct sigaction previous_actions[HANDLED_COUNT];

atomic_int coro_overflow_installed;

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_result;
static pthread_key_t altstack_key;

/* 1 once this thread has an alternate stack (ours or one it had before). */
static THREAD_LOCAL int altstack_ready;

/* Bytes of alternate stack, above a guard page. The handler itself needs
 * little, but a handler installed before ours runs on it too when a fault
 * is passed on, and those (crash reporters, sanitizer runtimes) want more. */
#define ALTSTACK_SIZE ((size_t)64 * 1024)

static void report_overflow(const char *name, size_t stack_size, const void *fault_address)
{
    char line[CORO_OVERFLOW_LINE_MAX];
    size_t length = coro_overflow_format(line, name, stack_size, fault_address);
    /* One write, so that lines from threads overflowing together do not
     * interleave; a short write on a full pipe is not retried. */
    ssize_t written = write(STDERR_FILENO, line, length);
    (void)written;
}

/* ---- The handler ---- */

static void restore_default(int signal_number)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(signal_number, &action, NULL);
}

/* Delivers a fault that is not an overflow as the kernel would have without
 * us. A fault the hardware raised (si_code > 0) cannot be ignored: under
 * SIG_IGN the kernel kills the process, so both SIG_DFL and SIG_IGN mean
 * "let it fault again with the default action". A signal sent by kill() or
 * raise() (si_code <= 0) is ignored or re-sent to take its default action. */
static void pass_on(int signal_number, siginfo_t *info, void *context, const struct sigaction *previous)
{
    int sent = info->si_code <= 0;
    if (previous->sa_handler == SIG_IGN && sent)
        return;
    if (previous->sa_handler == SIG_DFL || previous->sa_handler == SIG_IGN) {
        restore_default(signal_number);
        if (sent)
            raise(signal_number); /* pending until this handler returns */
        return;
    }
    if (previous->sa_flags & SA_RESETHAND)
        restore_default(signal_number);
    if (previous->sa_flags & SA_SIGINFO)
        previous->sa_sigaction(signal_number, info, context);
    else
        previous->sa_handler(signal_number);
}

static void on_fault(int signal_number, siginfo_t *info, void *context)
{
    int saved_errno = errno;
    size_t slot = signal_number == SIGSEGV ? 0 : 1;
    const char *name;
    size_t stack_size;
    if (info->si_code > 0 && coro_overflow_lookup(info->si_addr, &name, &stack_size)) {
        report_overflow(name, stack_size, info->si_addr);
        sigaction(signal_number, &previous_actions[slot], NULL);
    } else {
        pass_on(signal_number, info, context, &previous_actions[slot]);
    }
    errno = saved_errno;
}

/* ---- Alternate signal stacks ---- */

static void free_altstack(void *mapping)
{
    /* Switch it off first: a signal arriving between the unmap and the
     * thread's end must not be delivered onto unmapped memory. */
    stack_t off;
    memset(&off, 0, sizeof off);
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, NULL);
    munmap(mapping, ALTSTACK_SIZE + coro_stack_page_size());
}

int coro_overflow_thread_prepare(void)
{
    if (altstack_ready)
        return CORO_OK;

    /* A stack the application (or a sanitizer runtime) set up serves as
     * well as ours, and is not ours to replace. */
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE)) {
        altstack_ready = 1;
        return CORO_OK;
    }

    size_t guard = coro_stack_page_size();
    char *mapping = CORO_INJECTED_FAILURE() ? MAP_FAILED
                    : mmap(NULL, guard + ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED)
        return CORO_ENOMEM;
    stack_t alternate;
    memset(&alternate, 0, sizeof alternate);
    alternate.ss_sp = mapping + guard;
    alternate.ss_size = ALTSTACK_SIZE;
    if (CORO_INJECTED_FAILURE() || mprotect(mapping, guard, PROT_NONE) != 0 || sigaltstack(&alternate, NULL) != 0) {
        munmap(mapping, guard + ALTSTACK_SIZE);
        return CORO_ENOMEM;
    }
    /* The key's destructor runs at the thread's exit. The process's first
     * thread never runs it; its stack goes with the process. */
    if (CORO_INJECTED_FAILURE() || pthread_setspecific(altstack_key, mapping) != 0) {
        free_altstack(mapping);
        return CORO_ENOMEM;
    }
    altstack_ready = 1;
    return CORO_OK;
}

/* ---- Installation ---- */

static void install(void)
{
    if (pthread_key_create(&altstack_key, free_altstack) != 0) {
        install_result = CORO_ENOMEM;
        return;
    }
    /* Read what is installed before replacing it, so that a fault arriving
     * in between never finds the table empty. */
    for (size_t i = 0; i < HANDLED_COUNT; i++)
        sigaction(handled_signals[i], NULL, &previous_actions[i]);
    for (size_t i = 0; i < HANDLED_COUNT; i++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_sigaction = on_fault;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK;
        /* A handler we pass a fault on to runs with the mask it asked for. */
        action.sa_mask = previous_actions[i].sa_mask;
        sigaction(handled_signals[i], &action, NULL);
    }
    atomic_store(&coro_overflow_installed, 1);
}

int coro_install_overflow_handler(void)
{
    pthread_once(&install_once, install);
    if (install_result != CORO_OK)
        return install_result;
    return coro_overflow_thread_prepare();
}
