/*
 * Where coroutine stacks come from and go back to: the calling thread's pool
 * of stacks from destroyed coroutines (falling back to the system), or an
 * arena. Portable: the system calls are in stack.h.
 */
#ifndef CORO_POOL_H
#define CORO_POOL_H

#include <stddef.h>

#include "coro.h"
#include "stack.h"

/* A stack of usable bytes above guard bytes (both rounded up to pages):
 * a pooled one of exactly that shape if the calling thread's pool has one
 * (no system call), else a freshly mapped one. CORO_OK or CORO_ENOMEM. */
int coro_stack_pool_get(struct coro_stack *stack, size_t usable, size_t guard);

/* Takes back a stack from coro_stack_pool_get() whose coroutine is gone:
 * the calling thread's pool keeps it if its limits allow, else it is
 * unmapped. Overwrites the top of the stack. */
void coro_stack_pool_put(const struct coro_stack *stack);

/* Reserves one mapping for count stacks of usable bytes above guard bytes
 * (both rounded up to pages; guard may be 0). */
int coro_stack_arena_new(coro_arena **out, size_t count, size_t usable, size_t guard);

/* A stack from the arena: a free one, else the next never-used slot.
 * CORO_OK, or CORO_ENOMEM when the arena is full or the system refuses the
 * slot's guard. */
int coro_stack_arena_get(coro_arena *arena, struct coro_stack *stack);

/* Gives a stack back to its arena. Overwrites the top of the stack. */
void coro_stack_arena_put(coro_arena *arena, const struct coro_stack *stack);

#endif /* CORO_POOL_H */
