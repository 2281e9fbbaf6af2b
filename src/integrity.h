/*
 * Hardening against bad input and overwritten control blocks.
 *
 * Options: coro_check_options() decides, before anything is taken or
 * written, whether a coro_create() call's options contradict each other or
 * describe a stack that cannot be used, and with which code.
 *
 * Control blocks: a block lives at the top of its stack, so the first thing
 * past any guard is a neighbour's block. coro.c seals the fields of a block
 * that never change after create with coro_check_seal() over a per-process
 * key, and checks the seal (and the dynamic fields it can bound) before it
 * uses a block: see block_intact() in coro.c.
 */
#ifndef CORO_INTEGRITY_H
#define CORO_INTEGRITY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "coro.h"


/* The key, or 0 before the first coro_check_key_make(). Read inline on
 * every switch: a call there would cost the switch path its frameless
 * shape (the callee-saved registers a call needs). */
#if defined(__GNUC__) && !defined(_WIN32)
__attribute__((visibility("hidden")))
#endif
extern atomic_uintptr_t coro_check_key_word;

static inline uintptr_t coro_check_key(void)
{
    return atomic_load_explicit(&coro_check_key_word, memory_order_relaxed);
}

static inline uintptr_t coro_check_rotate(uintptr_t word, unsigned bits)
{
    return (word << bits) | (word >> (sizeof word * 8 - bits));
}

/* A seal over four words: each rotated by its own quarter of the word's
 * width, then all xored with the key. A change of any one word always
 * changes the seal (xor with a fixed rest is a bijection); two words
 * changed together cancel only when their changes are equal after the
 * rotations, which no fill pattern does to a pointer, a size and a small
 * number at once. Shallow on purpose: the switch path computes it, and
 * there a chain of dependent steps cost more than its instruction count
 * (four rotate-xor steps in a row cost about 0.25 ns a switch, measured in
 * the switch's own loop). */
static inline uintptr_t coro_check_seal(uintptr_t key, uintptr_t w0, uintptr_t w1, uintptr_t w2, uintptr_t w3)
{
    const unsigned quarter = sizeof(uintptr_t) * 2;
    return (key ^ w0) ^ (coro_check_rotate(w1, quarter) ^ coro_check_rotate(w2, 2 * quarter)) ^
           coro_check_rotate(w3, 3 * quarter);
}

/* coro_check_options() for options that name an arena or a caller's
 * stack, the cases with contradictions to look for. */
int coro_check_placed_options(const struct coro_options *opts, size_t block_size);

/* The code coro_create() returns for opts (never NULL) before it takes a
 * stack: CORO_OK when the options can be used. block_size is the control
 * block's size, which a caller-supplied stack must hold at its top (aligned
 * down to 64 bytes) above one suspended frame and CORO_STACK_MIN bytes.
 * Every contradiction gives CORO_EINVAL whatever else is wrong, then a
 * stack too small gives CORO_ESTACK. Inline: options that ask the pool for
 * a stack, those of nearly every create, have one rule, and create reads
 * the same fields right after. */
static inline int coro_check_options(const struct coro_options *opts, size_t block_size)
{
    if (opts->arena != NULL || opts->stack != NULL)
        return coro_check_placed_options(opts, block_size);
    if (opts->stack_size != 0 && opts->stack_size < CORO_STACK_MIN)
        return CORO_ESTACK;
    return CORO_OK;
}

/* Makes the key: the first call's work in coro_check_key_make(). */
uintptr_t coro_check_key_first(void);

/* The per-process key of every seal: made at the first call, from the
 * addresses where the system loaded the library and the stack (ASLR) and
 * the clock. Never 0 once made. Inline, as a load and a test: every create
 * calls it, and only the first makes the key. */
static inline uintptr_t coro_check_key_make(void)
{
    uintptr_t key = coro_check_key();
    if (key != 0)
        return key;
    return coro_check_key_first();
}

#endif /* CORO_INTEGRITY_H */
