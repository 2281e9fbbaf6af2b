/*
 * Stacks for coroutines: the part of libcoro that talks to the operating
 * system's memory manager and thread exit. src/stack.c implements it for
 * POSIX; a port to another system replaces that file, not the core. The
 * pool and the arenas (src/pool.c) are portable and use only what is here.
 */
#ifndef CORO_STACK_H
#define CORO_STACK_H

#include <stddef.h>
#include <stdint.h>

/* One stack. Stacks grow down on every target libcoro supports, so the
 * guard region, when there is one, lies below bottom. */
struct coro_stack {
    void *mapping;       /* what the library mapped, guard included (a slot of a slab, src/slab.h,
                          * or of an arena); NULL when the caller owns the memory */
    size_t mapping_size;
    void *bottom;        /* lowest usable address */
    void *top;           /* one past the highest usable address */
};

/* The system's page size, read once. */
size_t coro_stack_page_size(void);

/* Windows delivers a fault as an exception on the faulting stack itself, so
 * an overflow can be reported only while some stack is left to deliver it
 * on. The core therefore adds this many bytes to every guard there, and a
 * guard region larger than this ends, at its top, in that much committed
 * stack whose highest page is a PAGE_GUARD page: the first touch raises
 * STATUS_STACK_OVERFLOW, and the exception dispatcher and the vectored
 * handlers run in the rest (see stack_win32.c). The usable size stays what
 * was asked. POSIX delivers faults on an alternate signal stack. */
#if defined(_WIN32)
#define CORO_STACK_DISPATCH_RESERVE ((size_t)32 * 1024)
#else
#define CORO_STACK_DISPATCH_RESERVE ((size_t)0)
#endif

/* The sizes a stack of `usable` bytes over a `guard`-byte guard really
 * takes, each rounded up to whole pages. Returns 0 when a size does not fit
 * in a size_t (the caller answers CORO_ENOMEM), 1 otherwise. */
static inline int coro_stack_round(size_t usable, size_t guard, size_t *usable_bytes, size_t *guard_bytes)
{
    size_t page = coro_stack_page_size();
    if (usable == 0 || usable > SIZE_MAX - (page - 1) || guard > SIZE_MAX - (page - 1))
        return 0;
    *usable_bytes = (usable + page - 1) & ~(page - 1);
    *guard_bytes = (guard + page - 1) & ~(page - 1);
    return *guard_bytes <= SIZE_MAX - *usable_bytes;
}

/* Maps at least usable bytes of read-write stack with guard bytes of no
 * access below it, both rounded up to pages. Nothing is touched: POSIX
 * reserves address space only; Windows commits the usable part (see
 * stack_win32.c), which still makes no page resident. Where guard markers
 * are in use (src/slab.h) the stack is a slot of a shared slab, its guard a
 * marker. Returns CORO_OK or CORO_ENOMEM, leaving nothing mapped on
 * failure. */
int coro_stack_map(struct coro_stack *stack, size_t usable, size_t guard);

/* Returns a mapped stack to the system (a slab's slot: its pages, and the
 * slab once empty). Thread-safe. */
void coro_stack_unmap(const struct coro_stack *stack);

/* Reserves size bytes (a multiple of the page size) of read-write memory
 * for stacks, committing nothing. NULL when the system refuses. */
void *coro_stack_reserve(size_t size);

/* Returns all the memory of one coro_stack_reserve() to the system. */
void coro_stack_release(void *memory, size_t size);

/* Makes size bytes at memory (page-aligned) a guard: inaccessible, except
 * on Windows for the dispatch reserve at its top (see above). Returns CORO_OK or CORO_ENOMEM (on Linux, typically the mapping count
 * limit: the guard splits a mapping in two; not so where the guard is a
 * page-table marker, see src/slab.h). */
int coro_stack_protect(void *memory, size_t size);

/* Drops the contents of size bytes at memory (page-aligned): the pages stop
 * being resident, and what they hold when touched again is unspecified
 * (zeros on Linux). */
void coro_stack_discard(void *memory, size_t size);

/* Arranges for coro_stack_thread_exit(pool) to run when the calling thread
 * exits (not at process exit, where the system takes everything back).
 * Returns CORO_OK or CORO_ENOMEM. */
int coro_stack_watch_thread(void *pool);

/* Implemented by the pool (src/pool.c): releases a thread's pooled stacks. */
void coro_stack_thread_exit(void *pool);

#ifdef CORO_FAULT_INJECTION
/* Test hook, compiled only into the copy of the library that
 * tests/test_faults links. Every request that can run out of memory (a
 * stack mapping, a guard mprotect, any bookkeeping allocation) first calls
 * coro_stack_fault_point(), which counts it and answers nonzero when that
 * request must fail as if the system had refused. coro_stack_fault_arm(n)
 * restarts the count and makes the nth request from then on fail (0: none);
 * coro_stack_fault_calls() tells how many were counted. The hook sits at the
 * system-call layer so that a stack served without a system call is not
 * counted. Not thread-safe: arm it while one thread uses libcoro. */
int coro_stack_fault_point(void);
void coro_stack_fault_arm(unsigned long nth);
unsigned long coro_stack_fault_calls(void);
#define CORO_INJECTED_FAILURE() coro_stack_fault_point()
#else
#define CORO_INJECTED_FAILURE() 0
#endif

#endif /* CORO_STACK_H */
