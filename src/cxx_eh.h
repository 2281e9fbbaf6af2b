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
 * resumer entered one would end the resumer's exception. So the core hands
 * it over on every switch, before the stack pointer moves, and nothing is
 * left to do after the switch (it stays a tail call). Handing over costs a
 * switch a test and no store while nothing is caught or in flight, which
 * is nearly always.
 *
 * Programs without a C++ runtime have no __cxa_get_globals: the reference is
 * weak, coro_cxx_eh_thread_globals() answers NULL, and the core's test then
 * reads empty globals of its own.
 */
#ifndef CORO_CXX_EH_H
#define CORO_CXX_EH_H

#include <stddef.h>
#include <stdint.h>

/* __cxa_eh_globals, field for field. */
struct coro_cxx_eh_globals {
    void *caught_exceptions;
    unsigned int uncaught_exceptions;
#if defined(__arm__) && defined(__ARM_EABI__) && !defined(__ARM_DWARF_EH__)
    void *propagating_exceptions;
#endif
};

/* A context's copy while it is switched out. Almost every switch happens
 * outside any catch block and with no exception in flight: the thread's
 * globals are empty then, and so is the copy of the context switched to.
 * `kept` says whether the copy holds anything, so that such a switch can
 * tell from three loads that there is nothing to hand over, and store
 * nothing. The running context's `kept` is always 0. */
struct coro_cxx_eh_context {
    struct coro_cxx_eh_globals saved;
    unsigned char kept;
};

/* The calling thread's exception globals, or NULL when the program has no
 * C++ runtime. The address stays valid for the thread's life, so the core
 * asks once per thread. (Without a runtime the core looks at empty globals
 * of its own, which nothing changes, so that a C program takes the same
 * path.) */
struct coro_cxx_eh_globals *coro_cxx_eh_thread_globals(void);

/* A context that has not run yet: nothing caught, nothing in flight. */
static inline void coro_cxx_eh_init(struct coro_cxx_eh_context *context)
{
    context->kept = 0;
}

/* Whether a switch to `to` has something to hand over, as a word that is
 * 0 when not: the thread's globals hold something, or to's copy does.
 * Loads and ORs, for the caller to fold into its own tests. */
static inline uintptr_t coro_cxx_eh_busy(const struct coro_cxx_eh_globals *thread_globals,
                                         const struct coro_cxx_eh_context *to)
{
    uintptr_t busy = (uintptr_t)thread_globals->caught_exceptions | thread_globals->uncaught_exceptions | to->kept;
#if defined(__arm__) && defined(__ARM_EABI__) && !defined(__ARM_DWARF_EH__)
    busy |= (uintptr_t)thread_globals->propagating_exceptions;
#endif
    return busy;
}

/* Right before the thread switches from one context to another, when
 * coro_cxx_eh_busy() said so: the thread's globals go into `from`, and
 * `to`'s become the thread's. A coroutine that moves to another thread
 * takes its copy along. */
void coro_cxx_eh_hand_over(struct coro_cxx_eh_globals *thread_globals, struct coro_cxx_eh_context *from,
                           struct coro_cxx_eh_context *to);

#endif /* CORO_CXX_EH_H */
