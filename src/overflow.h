/*
 * The opt-in stack overflow report (coro_install_overflow_handler()): what
 * the core and the system's fault handler (src/overflow.c on POSIX,
 * src/overflow_win32.c on Windows) need from each other.
 */
#ifndef CORO_OVERFLOW_H
#define CORO_OVERFLOW_H

#include <stddef.h>

/* In coro.c. When address lies in the guard region of the coroutine the
 * calling thread runs, stores that coroutine's name and the stack size it
 * asked for and returns 1; otherwise returns 0. Async-signal-safe: it reads
 * only the calling thread's own state. */
int coro_overflow_lookup(const void *address, const char **name, size_t *stack_size);

/* Room for the longest report line (a name of CORO_NAME_MAX - 1 bytes). */
#define CORO_OVERFLOW_LINE_MAX 192

/* In overflow_line.c. Writes the report line, newline included and not
 * NUL-terminated, into text and returns its length. Async-signal-safe. */
size_t coro_overflow_format(char text[CORO_OVERFLOW_LINE_MAX], const char *name, size_t stack_size,
                            const void *fault_address);

#if defined(_WIN32)

/* A vectored exception handler runs on the faulting thread's own stack
 * reserve: no thread needs anything prepared. */
static inline int coro_overflow_wanted(void)
{
    return 0;
}

static inline int coro_overflow_thread_prepare(void)
{
    return 0;
}

#else

#include <stdatomic.h>

/* Nonzero once the handler is installed. */
extern atomic_int coro_overflow_installed;

/* Whether threads must be prepared for the handler: one relaxed load, for
 * the core to test before coro_overflow_thread_prepare(). */
static inline int coro_overflow_wanted(void)
{
    return atomic_load_explicit(&coro_overflow_installed, memory_order_relaxed);
}

/* Gives the calling thread an alternate signal stack, once, unless it
 * already has one; freed when the thread exits. Returns CORO_OK or
 * CORO_ENOMEM. */
int coro_overflow_thread_prepare(void);

#endif

#endif /* CORO_OVERFLOW_H */
