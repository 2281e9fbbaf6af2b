/*
 * The C++ runtime's exception globals, one copy per context.
 *
 * Itanium C++ ABI, Exception Handling, 2.2.2 "Caught Exception Stack": each
 * thread has one __cxa_eh_globals, reached with __cxa_get_globals(), holding
 * the stack of exceptions caught and not yet finished (what `throw;` and
 * std::current_exception() see) and the count of exceptions thrown and not
 * yet caught (std::uncaught_exceptions()). libstdc++ and libc++abi both keep
 * exactly this layout; on ARM EHABI both add the list of exceptions being
 * propagated through cleanups. Kept per thread, it would be shared by every
 * coroutine the thread runs: a coroutine that leaves a catch block after its
 * resumer entered one would end the resumer's exception. So the core swaps
 * it on every switch, before the stack pointer moves, and nothing is left to
 * do after the switch (it stays a tail call).
 *
 * Programs without a C++ runtime have no __cxa_get_globals: the reference is
 * weak, coro_cxx_eh_thread_globals() answers NULL, and the core then never
 * swaps (see switch_stacks() in coro.c for how that costs no test per switch).
 */
#ifndef CORO_CXX_EH_H
#define CORO_CXX_EH_H

#include <stddef.h>

/* __cxa_eh_globals, field for field. */
struct coro_cxx_eh_globals {
    void *caught_exceptions;
    unsigned int uncaught_exceptions;
#if defined(__arm__) && defined(__ARM_EABI__) && !defined(__ARM_DWARF_EH__)
    void *propagating_exceptions;
#endif
};

/* The calling thread's exception globals, or NULL when the program has no
 * C++ runtime. The address stays valid for the thread's life, so the core
 * asks once per thread. */
struct coro_cxx_eh_globals *coro_cxx_eh_thread_globals(void);

/* A context that has not run yet: nothing caught, nothing in flight. */
static inline void coro_cxx_eh_init(struct coro_cxx_eh_globals *context)
{
    *context = (struct coro_cxx_eh_globals){0};
}

/* Right before the thread switches from one context to another: the
 * thread's globals go into `from`, and `to`'s become the thread's. A
 * coroutine that moves to another thread takes its copy along. */
static inline void coro_cxx_eh_swap(struct coro_cxx_eh_globals *thread_globals, struct coro_cxx_eh_globals *from,
                                    const struct coro_cxx_eh_globals *to)
{
    *from = *thread_globals;
    *thread_globals = *to;
}

/* The same, for a thread whose globals may be NULL (no C++ runtime). */
static inline void coro_cxx_eh_switch(struct coro_cxx_eh_globals *thread_globals, struct coro_cxx_eh_globals *from,
                                      const struct coro_cxx_eh_globals *to)
{
    if (thread_globals != NULL)
        coro_cxx_eh_swap(thread_globals, from, to);
}

#endif /* CORO_CXX_EH_H */
