/*
 * Option validation and the seal key (integrity.h).
 */
#include "integrity.h"

#include <time.h>

#include "arch.h"

int coro_check_placed_options(const struct coro_options *opts, size_t block_size)
{
    /* Contradictions first, so that the code does not depend on which
     * field a check happens to read first (coro.h lists them). */
    if (opts->arena != NULL) {
        if (opts->stack != NULL || opts->stack_size != 0 || opts->guard_size != 0)
            return CORO_EINVAL;
        return CORO_OK; /* the arena set its shape when it was made */
    }
    /* A caller's stack. */
    if (opts->stack_size == 0 || (opts->guard_size != 0 && opts->guard_size != CORO_NO_GUARD))
        return CORO_EINVAL;
    /* The stack ends at stack + stack_size, which must be an address: a
     * range that wraps would put the control block below stack. */
    uintptr_t bottom = (uintptr_t)opts->stack;
    if (opts->stack_size > UINTPTR_MAX - bottom)
        return CORO_EINVAL;
    uintptr_t top = bottom + opts->stack_size;
    /* What create will do, checked without writing: the block goes at the
     * top, aligned down to 64 bytes, one frame below it, and CORO_STACK_MIN
     * usable bytes below that. */
    if (opts->stack_size < block_size + CORO_ARCH_FRAME_SIZE + CORO_STACK_MIN)
        return CORO_ESTACK;
    uintptr_t block = (top - block_size) & ~(uintptr_t)63;
    if (block - bottom < CORO_ARCH_FRAME_SIZE + CORO_STACK_MIN)
        return CORO_ESTACK;
    return CORO_OK;
}

atomic_uintptr_t coro_check_key_word;

uintptr_t coro_check_key_first(void)
{
    /* Not a cryptographic secret: it keeps a block copied from elsewhere,
     * or bytes that happen to repeat a pattern, from carrying a valid seal. */
    int on_stack;
    uintptr_t h = coro_check_seal((uintptr_t)&coro_check_key_word, (uintptr_t)&on_stack, (uintptr_t)time(NULL),
                                  (uintptr_t)clock(), 0);
    h |= 1;
    /* Threads may race to make it; the first one's key is everyone's. */
    uintptr_t expected = 0;
    if (!atomic_compare_exchange_strong_explicit(&coro_check_key_word, &expected, h, memory_order_relaxed, memory_order_relaxed))
        return expected;
    return h;
}
