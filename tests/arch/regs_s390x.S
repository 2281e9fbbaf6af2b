/*
 * Test helper for test_registers, s390x (see src/arch/s390x.S for the ABI
 * sections).
 *
 * void regs_switch(void **save_sp, void *load_sp, void *value,
 *                  r2               r3             r4
 *                  const uint64_t *fill, uint64_t *seen);
 *                  r5                    r6
 *
 * Loads every register the switch preserves from fill[] (in the order of
 * regs_names in test_registers.c: r14 r15 r6-r13 f8-f15 fpc), calls
 * coro_arch_switch, and when control comes back writes what the registers
 * then hold into seen[]. It restores the caller's own registers and FPC
 * before returning, so it is itself ABI-conforming.
 *
 * r14 cannot be filled with a sentinel: the call writes it. Instead fill[0]
 * picks one of two call sites (0 or 1), and each site writes its own number
 * to seen[0] once the switch returns there. The two sides of the test use
 * different sites, so a switch that returned through the wrong r14 lands at
 * the other side's site and is caught. For r15, seen[1] is the difference
 * from before the call, which must be 0 (fill[1] is not used).
 *
 * The arrays hold 64-bit numbers, big-endian: a 32-bit FPC sits in the
 * second word of its entry.
 */
#include "arch/asm.h"

/* Own frame: the register save area the switch writes into (0-159), f8-f15
 * (160-223), FPC (224), seen (232), r15 before the call (240). */
#define FRAME 248
#define OWN_F 160
#define OWN_FPC 224
#define OWN_SEEN 232
#define OWN_SP 240

/* fill[] and seen[] offsets. */
#define AT_R14 0
#define AT_R15 8
#define AT_R 16
#define AT_F 80
#define AT_FPC 144

    .text
    .p2align 3
    FUNCTION regs_switch
    .cfi_startproc
    stmg    %r6, %r15, 48(%r15)
    .cfi_offset %r14, -48
    .cfi_offset %r15, -40
    lay     %r15, -FRAME(%r15)
    .cfi_adjust_cfa_offset FRAME
    std     %f8, OWN_F + 0(%r15)
    std     %f9, OWN_F + 8(%r15)
    std     %f10, OWN_F + 16(%r15)
    std     %f11, OWN_F + 24(%r15)
    std     %f12, OWN_F + 32(%r15)
    std     %f13, OWN_F + 40(%r15)
    std     %f14, OWN_F + 48(%r15)
    std     %f15, OWN_F + 56(%r15)
    stfpc   OWN_FPC(%r15)
    stg     %r6, OWN_SEEN(%r15)
    stg     %r15, OWN_SP(%r15)

    lmg     %r6, %r13, AT_R(%r5)
    ld      %f8, AT_F + 0(%r5)
    ld      %f9, AT_F + 8(%r5)
    ld      %f10, AT_F + 16(%r5)
    ld      %f11, AT_F + 24(%r5)
    ld      %f12, AT_F + 32(%r5)
    ld      %f13, AT_F + 40(%r5)
    ld      %f14, AT_F + 48(%r5)
    ld      %f15, AT_F + 56(%r5)
    lfpc    AT_FPC + 4(%r5)

    ltg     %r0, AT_R14(%r5)
    jne     .Lcall_from_site_1
    brasl   %r14, C_SYMBOL(coro_arch_switch)
    lghi    %r0, 0
    j       .Lrecord
.Lcall_from_site_1:
    brasl   %r14, C_SYMBOL(coro_arch_switch)
    lghi    %r0, 1

.Lrecord:
    lg      %r1, OWN_SEEN(%r15)
    stg     %r0, AT_R14(%r1)
    lgr     %r0, %r15
    sg      %r0, OWN_SP(%r15)
    stg     %r0, AT_R15(%r1)
    stmg    %r6, %r13, AT_R(%r1)
    std     %f8, AT_F + 0(%r1)
    std     %f9, AT_F + 8(%r1)
    std     %f10, AT_F + 16(%r1)
    std     %f11, AT_F + 24(%r1)
    std     %f12, AT_F + 32(%r1)
    std     %f13, AT_F + 40(%r1)
    std     %f14, AT_F + 48(%r1)
    std     %f15, AT_F + 56(%r1)
    efpc    %r0
    llgfr   %r0, %r0
    stg     %r0, AT_FPC(%r1)

    ld      %f8, OWN_F + 0(%r15)
    ld      %f9, OWN_F + 8(%r15)
    ld      %f10, OWN_F + 16(%r15)
    ld      %f11, OWN_F + 24(%r15)
    ld      %f12, OWN_F + 32(%r15)
    ld      %f13, OWN_F + 40(%r15)
    ld      %f14, OWN_F + 48(%r15)
    ld      %f15, OWN_F + 56(%r15)
    lfpc    OWN_FPC(%r15)
    lay     %r15, FRAME(%r15)
    .cfi_adjust_cfa_offset -FRAME
    lmg     %r6, %r15, 48(%r15)
    br      %r14
    .cfi_endproc
    END_FUNCTION regs_switch

    .section .note.GNU-stack, "", %progbits
