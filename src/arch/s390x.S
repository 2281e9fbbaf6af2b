/*
 * Context switch for s390x (z/Architecture, 64-bit) on Linux. As
 * x86_64_sysv.S, except:
 *  - the return address arrives in r14, not on the stack: the switch keeps it
 *    with the saved registers and returns through it (`br %r14`);
 *  - the general registers go where the ABI puts them, in the register save
 *    area of the caller's frame; only f8-f15 and the FPC take a frame of the
 *    switch's own;
 *  - the FP control state saved is the FPC's control fields (policy below);
 *  - the value reaches the trampoline in r2, already where start wants it;
 *  - unwinding stops at the coroutine's root, as on the other ports.
 *
 * ABI facts this file relies on (ELF Application Binary Interface s390x
 * Supplement, chapter 1 "Low-Level System Information"):
 *   "Register usage": r6-r13 and r15 (the stack pointer) are preserved across
 *     calls; r14 holds the return address and is not; f8-f15 are preserved
 *     (as 64-bit values: the vector registers they overlap are volatile
 *     beyond that); r0-r5, f0-f7 are volatile. Access registers a0/a1 hold
 *     the thread pointer, which no procedure changes: left alone.
 *   "The stack frame": r15 is 8-byte aligned; a caller leaves 160 bytes at
 *     its r15 for the callee's register save area: the back chain at 0,
 *     r2-r15 at 16-127 (r6 at 48), f0/f2/f4/f6 at 128-159. A back chain of 0
 *     ends a frame chain (programs built with -mbackchain walk it).
 *   DWARF (GCC's s390 port): the CFA is r15 + 160 at a function's entry.
 *
 * void *coro_arch_switch(void **save_sp, void *load_sp, void *value);
 *                        r2               r3             r4    -> r2
 * void *coro_arch_make(void *stack_top, void *stack_bottom,
 *                      r2               r3 (unused)
 *                      coro_arch_start_fn start, void *arg);
 *                      r4                        r5         -> r2
 *
 * A suspended frame, at the saved stack pointer S (CORO_ARCH_FRAME_SIZE =
 * 232: 72 bytes of the switch's own, then the 160-byte register save area
 * of the frame that called it):
 *
 *   offset     switch saved                 a fresh frame from make holds
 *   +192..224  (r15, f0/f2/f4/f6 slots: unused; S itself is what is kept)
 *                                           0
 *   +120..184  r6 ... r14 (8 bytes each)    r6 = start, r7 = arg, r8-r13 0,
 *                                           r14 = coro_arch_trampoline
 *   +80..112   (r2-r5 slots: unused)        0
 *   +72        (back chain of the caller's frame, not touched)
 *                                           0: ends back-chain walks
 *   +64        FPC (4 bytes), 4 unused      FPC of make's caller
 *   +0..56     f8 ... f15                   0
 *
 * A fresh frame's register save area is, once the switch has loaded it and
 * returned, the 160 bytes the trampoline passes to start: its r15 then
 * points at them, with the back chain 0.
 *
 * FPC policy. The supplement's register table does not list the FPC; IBM's
 * linkage convention for z/OS makes every FPC field non-volatile but the
 * IEEE exception flags and the data-exception code, and glibc's <fenv.h>
 * treats the FPC as the thread's floating-point environment (C11 7.6: a
 * call does not alter its caller's control modes). Seen from each side a
 * switch is a call, so:
 *  - the control fields (the IEEE exception masks, bits 0-5; the DFP
 *    rounding mode, bits 25-27; the BFP rounding mode, bits 29-31; IBM bit
 *    numbering, 0 the most significant of 32) belong to each context: saved
 *    with the frame, and written back only when the target's differ, since
 *    the mode almost never differs between contexts and an FPC write may
 *    serialise the pipeline where a read does not;
 *  - the flags and the data-exception code belong to the thread: the value
 *    written keeps the current ones.
 */
#include "../arch.h"
#include "asm.h"

#if CORO_ARCH_FRAME_SIZE != 232
#error "s390x.S: CORO_ARCH_FRAME_SIZE does not match the frame drawn above"
#endif

/* The switch's own part of the frame; the caller's register save area
 * follows it. */
#define OWN_FRAME 72
#define FPC_SLOT 64
#define GPR_SLOTS (OWN_FRAME + 48)      /* r6, in the caller's save area */
/* FPC control fields, as the test's fill values spell them too. */
#define FPC_CONTROL 0xfc000077

    .text

    .p2align 3
    FUNCTION coro_arch_switch
    .cfi_startproc
    stmg    %r6, %r14, 48(%r15)
    .cfi_offset %r6, -112
    .cfi_offset %r7, -104
    .cfi_offset %r8, -96
    .cfi_offset %r9, -88
    .cfi_offset %r10, -80
    .cfi_offset %r11, -72
    .cfi_offset %r12, -64
    .cfi_offset %r13, -56
    .cfi_offset %r14, -48
    lay     %r15, -OWN_FRAME(%r15)
    .cfi_adjust_cfa_offset OWN_FRAME
    std     %f8, 0(%r15)
    .cfi_offset %f8, -232
    std     %f9, 8(%r15)
    .cfi_offset %f9, -224
    std     %f10, 16(%r15)
    .cfi_offset %f10, -216
    std     %f11, 24(%r15)
    .cfi_offset %f11, -208
    std     %f12, 32(%r15)
    .cfi_offset %f12, -200
    std     %f13, 40(%r15)
    .cfi_offset %f13, -192
    std     %f14, 48(%r15)
    .cfi_offset %f14, -184
    std     %f15, 56(%r15)
    .cfi_offset %f15, -176
    efpc    %r0
    st      %r0, FPC_SLOT(%r15)

    /* Both stacks hold a frame of the same shape, so the CFI above stays
     * true after the stack pointer changes. */
    stg     %r15, 0(%r2)
    lgr     %r15, %r3

    ld      %f8, 0(%r15)
    ld      %f9, 8(%r15)
    ld      %f10, 16(%r15)
    ld      %f11, 24(%r15)
    ld      %f12, 32(%r15)
    ld      %f13, 40(%r15)
    ld      %f14, 48(%r15)
    ld      %f15, 56(%r15)
    /* r0 still holds the FPC this thread runs with now. Which control bits
     * differ: none, no write; else flip exactly those, so the flags and
     * the data-exception code stay the thread's. */
    l       %r1, FPC_SLOT(%r15)
    xr      %r1, %r0
    nilf    %r1, FPC_CONTROL
    je      1f
    xr      %r0, %r1
    sfpc    %r0
1:
    lmg     %r6, %r14, GPR_SLOTS(%r15)
    lay     %r15, OWN_FRAME(%r15)
    .cfi_adjust_cfa_offset -OWN_FRAME
    lgr     %r2, %r4
    br      %r14
    .cfi_endproc
    END_FUNCTION coro_arch_switch

    .p2align 3
    FUNCTION coro_arch_make
    .cfi_startproc
    /* The trampoline runs once the switch's own part is popped, with r15
     * at the fresh register save area: 160 bytes below the 16-byte aligned
     * top (more than the 8 bytes the ABI asks for). */
    nill    %r2, 0xfff0
    lay     %r2, -CORO_ARCH_FRAME_SIZE(%r2)
    xc      0(OWN_FRAME + 160, %r2), 0(%r2)
    efpc    %r0
    st      %r0, FPC_SLOT(%r2)
    stg     %r4, GPR_SLOTS + 0(%r2)
    stg     %r5, GPR_SLOTS + 8(%r2)
    larl    %r1, coro_arch_trampoline
    stg     %r1, GPR_SLOTS + 64(%r2)
    br      %r14
    .cfi_endproc
    END_FUNCTION coro_arch_make

/*
 * The first switch into a coroutine returns here with the value in r2,
 * start in r6 and arg in r7, and r15 at a register save area whose back
 * chain is 0. glibc's backtrace() on s390x walks the stack with the DWARF
 * unwinder, as gdb does: the undefined return address ends the coroutine's
 * stack here for both.
 */
    .p2align 3
    LOCAL_FUNCTION coro_arch_trampoline
    .cfi_startproc
    .cfi_undefined %r14
    lgr     %r3, %r7
    basr    %r14, %r6
    /* Opcode 0 is no instruction: SIGILL if start ever returns. */
    .short  0
    .cfi_endproc
    END_FUNCTION coro_arch_trampoline

    .section .note.GNU-stack, "", %progbits
