/*
 * Stacks for coroutines: the part of libcoro that talks to the operating
 * system's memory manager. src/stack.c implements it for POSIX; a port to
 * another system replaces that file, not the core.
 */
#ifndef CORO_STACK_H
#define CORO_STACK_H

#include <stddef.h>

/* One stack. Stacks grow down on every target libcoro supports, so the
 * guard region, when there is one, lies below bottom. */
struct coro_stack {
    void *mapping;       /* what the library mapped, guard included; NULL when the caller owns the memory */
    size_t mapping_size;
    void *bottom;        /* lowest usable address */
    void *top;           /* one past the highest usable address */
};

/* The system's page size, read once. */
size_t coro_stack_page_size(void);

/* Maps at least usable bytes of read-write stack with guard bytes of no
 * access below it, both rounded up to pages. Reserves address space only:
 * nothing is touched or committed. Returns CORO_OK or CORO_ENOMEM, leaving
 * nothing mapped on failure. */
int coro_stack_map(struct coro_stack *stack, size_t usable, size_t guard);

/* Returns a mapped stack to the system. */
void coro_stack_unmap(const struct coro_stack *stack);

#endif /* CORO_STACK_H */
