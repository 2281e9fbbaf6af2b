/*
 * Finds the C++ runtime's per-thread exception globals, if the program has a
 * C++ runtime at all (see cxx_eh.h).
 */
#include "cxx_eh.h"

#if defined(__APPLE__)
/* Mach-O takes a weak import only from a library linked at build time, and
 * a C program links no C++ runtime: the runtime's function is looked up
 * instead, once per thread (libc++abi's __cxa_eh_globals has the same two
 * first fields). */
#include <dlfcn.h>
#define CORO_CXX_EH_LOOKUP 1
#elif defined(__GNUC__) && !defined(_WIN32)
/* Weak: a C program links no C++ runtime, and then this address is NULL.
 * The real declaration returns __cxa_eh_globals *, whose layout is
 * struct coro_cxx_eh_globals. (PE/COFF has no weak undefined symbols that
 * resolve to NULL, so Windows builds leave the globals to the thread.) */
extern struct coro_cxx_eh_globals *__cxa_get_globals(void) __attribute__((weak));
#define CORO_CXX_EH_WEAK 1
#endif

struct coro_cxx_eh_globals *coro_cxx_eh_thread_globals(void)
{
#if defined(CORO_CXX_EH_WEAK)
    if (__cxa_get_globals != NULL)
        return __cxa_get_globals();
#elif defined(CORO_CXX_EH_LOOKUP)
    struct coro_cxx_eh_globals *(*get_globals)(void);
    /* POSIX: a function's address survives a trip through void *. */
    *(void **)&get_globals = dlsym(RTLD_DEFAULT, "__cxa_get_globals");
    if (get_globals != NULL)
        return get_globals();
#endif
    return NULL;
}

static int globals_empty(const struct coro_cxx_eh_globals *globals)
{
    return coro_cxx_eh_busy(globals, &(const struct coro_cxx_eh_context){.kept = 0}) == 0;
}

void coro_cxx_eh_hand_over(struct coro_cxx_eh_globals *thread_globals, struct coro_cxx_eh_context *from,
                           struct coro_cxx_eh_context *to)
{
    from->saved = *thread_globals;
    from->kept = !globals_empty(thread_globals);
    if (to->kept)
        *thread_globals = to->saved;
    else
        *thread_globals = (struct coro_cxx_eh_globals){0};
    to->kept = 0;
}
