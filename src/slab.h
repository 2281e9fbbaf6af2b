/*
 * Guarded stacks without a mapping per guard, where the kernel can mark
 * pages of an ordinary mapping as guards (Linux 6.13 and later:
 * madvise(MADV_GUARD_INSTALL)). src/stack.c asks here first; everything
 * answers "not in use" elsewhere, and stack.c keeps its mmap + mprotect
 * path. See src/slab.c for the layout.
 */
#ifndef CORO_SLAB_H
#define CORO_SLAB_H

#include <stddef.h>

#include "stack.h"

/* Nonzero when this process puts its guards in as markers. Decided once,
 * at the first call: the kernel must install a marker that really faults
 * (a probe page), and the environment variable LIBCORO_GUARD must not be
 * "mprotect" (which forces the mmap + mprotect path). Thread-safe. */
int coro_slab_markers(void);

/* With markers in use: a stack of usable_bytes above guard_bytes (both
 * whole pages, guard_bytes may be 0), carved from a slab shared with other
 * stacks of that shape, or mapped alone when too large for a slab. Its
 * mapping is its own slot, guard included, as for a separately mapped
 * stack. CORO_OK or CORO_ENOMEM, leaving nothing new mapped on failure.
 * Thread-safe. */
int coro_slab_map(struct coro_stack *stack, size_t usable_bytes, size_t guard_bytes);

/* Returns a stack of coro_slab_map() (from any thread): its pages leave
 * the resident set, its slot becomes free, and a slab left with no stack
 * in use is unmapped (one is kept, empty, for the next). */
void coro_slab_unmap(const struct coro_stack *stack);

/* Makes size bytes at memory (page-aligned, in a private anonymous
 * mapping) guard markers. CORO_OK or CORO_ENOMEM. */
int coro_slab_guard(void *memory, size_t size);

/* Bytes of one slab, a power of two; a slab is aligned to its size. A
 * stack whose slot (guard included) is larger than a slab's eighth is
 * mapped alone. */
#define CORO_SLAB_BYTES ((size_t)1 << (sizeof(void *) >= 8 ? 26 : 23))
#define CORO_SLAB_MAX_SLOT (CORO_SLAB_BYTES / 8)

#endif /* CORO_SLAB_H */
