/*
 * Test helper for test_registers, 64-bit Power ELF V2 (see
 * src/arch/ppc64_elfv2.S for the ABI sections).
 *
 * void regs_switch(void **save_sp, void *load_sp, void *value,
 *                  r3               r4             r5
 *                  const uint64_t *fill, uint64_t *seen);
 *                  r6                    r7
 *
 * Loads every register the switch preserves from fill[] (in the order of
 * regs_names in test_registers.c: lr r1 r2 r14-r31 f14-f31 v20-v31 (two
 * doublewords each) vrsave cr fpscr), calls coro_arch_switch, and when
 * control comes back writes what the registers then hold into seen[]. It
 * restores the caller's own registers, CR and FPSCR before returning, so it
 * is itself ABI-conforming.
 *
 * lr cannot be filled with a sentinel: the call writes it. Instead fill[0]
 * picks one of two call sites (0 or 1), and each site writes its own number
 * to seen[0] once the switch returns there. The two sides of the test use
 * different sites, so a switch that returned through the wrong lr lands at
 * the other side's site and is caught. For r1, seen[1] is the difference
 * from before the call, which must be 0 (fill[1] is not used).
 *
 * r2 holds a sentinel across the call: the switch uses no TOC, and the call
 * stays within this executable, so the linker puts no TOC-switching stub in
 * between. Vector registers move to and from the arrays with lxvd2x and
 * stxvd2x, which need no alignment and undo each other's element order.
 */
#include "arch/asm.h"

/* Own frame: the 32-byte header the switch writes LR and CR into (0-31),
 * r14-r31 (32-175), f14-f31 (176-319), v20-v31 (320-511), VRSAVE (512),
 * FPSCR (520), seen (528), r1 before the call (536), r2 (544). */
#define FRAME 560
#define OWN_R 32
#define OWN_F 176
#define OWN_V 320
#define OWN_VRSAVE 512
#define OWN_FPSCR 520
#define OWN_SEEN 528
#define OWN_SP 536
#define OWN_TOC 544

/* fill[] and seen[] offsets. */
#define AT_LR 0
#define AT_R1 8
#define AT_R2 16
#define AT_R 24
#define AT_F 168
#define AT_V 312
#define AT_VRSAVE 504
#define AT_CR 512
#define AT_FPSCR 520

    .abiversion 2
    .text
    .p2align 4
    FUNCTION regs_switch
    .cfi_startproc
    mflr    %r0
    mfcr    %r12
    std     %r0, 16(%r1)
    .cfi_offset 65, 16
    stw     %r12, 8(%r1)
    stdu    %r1, -FRAME(%r1)
    .cfi_adjust_cfa_offset FRAME
    std     %r2, OWN_TOC(%r1)
    std     %r14, OWN_R + 0(%r1)
    std     %r15, OWN_R + 8(%r1)
    std     %r16, OWN_R + 16(%r1)
    std     %r17, OWN_R + 24(%r1)
    std     %r18, OWN_R + 32(%r1)
    std     %r19, OWN_R + 40(%r1)
    std     %r20, OWN_R + 48(%r1)
    std     %r21, OWN_R + 56(%r1)
    std     %r22, OWN_R + 64(%r1)
    std     %r23, OWN_R + 72(%r1)
    std     %r24, OWN_R + 80(%r1)
    std     %r25, OWN_R + 88(%r1)
    std     %r26, OWN_R + 96(%r1)
    std     %r27, OWN_R + 104(%r1)
    std     %r28, OWN_R + 112(%r1)
    std     %r29, OWN_R + 120(%r1)
    std     %r30, OWN_R + 128(%r1)
    std     %r31, OWN_R + 136(%r1)
    stfd    %f14, OWN_F + 0(%r1)
    stfd    %f15, OWN_F + 8(%r1)
    stfd    %f16, OWN_F + 16(%r1)
    stfd    %f17, OWN_F + 24(%r1)
    stfd    %f18, OWN_F + 32(%r1)
    stfd    %f19, OWN_F + 40(%r1)
    stfd    %f20, OWN_F + 48(%r1)
    stfd    %f21, OWN_F + 56(%r1)
    stfd    %f22, OWN_F + 64(%r1)
    stfd    %f23, OWN_F + 72(%r1)
    stfd    %f24, OWN_F + 80(%r1)
    stfd    %f25, OWN_F + 88(%r1)
    stfd    %f26, OWN_F + 96(%r1)
    stfd    %f27, OWN_F + 104(%r1)
    stfd    %f28, OWN_F + 112(%r1)
    stfd    %f29, OWN_F + 120(%r1)
    stfd    %f30, OWN_F + 128(%r1)
    stfd    %f31, OWN_F + 136(%r1)
    li      %r0, OWN_V + 0
    stvx    %v20, %r1, %r0
    li      %r0, OWN_V + 16
    stvx    %v21, %r1, %r0
    li      %r0, OWN_V + 32
    stvx    %v22, %r1, %r0
    li      %r0, OWN_V + 48
    stvx    %v23, %r1, %r0
    li      %r0, OWN_V + 64
    stvx    %v24, %r1, %r0
    li      %r0, OWN_V + 80
    stvx    %v25, %r1, %r0
    li      %r0, OWN_V + 96
    stvx    %v26, %r1, %r0
    li      %r0, OWN_V + 112
    stvx    %v27, %r1, %r0
    li      %r0, OWN_V + 128
    stvx    %v28, %r1, %r0
    li      %r0, OWN_V + 144
    stvx    %v29, %r1, %r0
    li      %r0, OWN_V + 160
    stvx    %v30, %r1, %r0
    li      %r0, OWN_V + 176
    stvx    %v31, %r1, %r0
    mfvrsave %r0
    stw     %r0, OWN_VRSAVE(%r1)
    mffs    %f0
    stfd    %f0, OWN_FPSCR(%r1)
    std     %r7, OWN_SEEN(%r1)
    std     %r1, OWN_SP(%r1)

    ld      %r2, AT_R2(%r6)
    ld      %r14, AT_R + 0(%r6)
    ld      %r15, AT_R + 8(%r6)
    ld      %r16, AT_R + 16(%r6)
    ld      %r17, AT_R + 24(%r6)
    ld      %r18, AT_R + 32(%r6)
    ld      %r19, AT_R + 40(%r6)
    ld      %r20, AT_R + 48(%r6)
    ld      %r21, AT_R + 56(%r6)
    ld      %r22, AT_R + 64(%r6)
    ld      %r23, AT_R + 72(%r6)
    ld      %r24, AT_R + 80(%r6)
    ld      %r25, AT_R + 88(%r6)
    ld      %r26, AT_R + 96(%r6)
    ld      %r27, AT_R + 104(%r6)
    ld      %r28, AT_R + 112(%r6)
    ld      %r29, AT_R + 120(%r6)
    ld      %r30, AT_R + 128(%r6)
    ld      %r31, AT_R + 136(%r6)
    lfd     %f14, AT_F + 0(%r6)
    lfd     %f15, AT_F + 8(%r6)
    lfd     %f16, AT_F + 16(%r6)
    lfd     %f17, AT_F + 24(%r6)
    lfd     %f18, AT_F + 32(%r6)
    lfd     %f19, AT_F + 40(%r6)
    lfd     %f20, AT_F + 48(%r6)
    lfd     %f21, AT_F + 56(%r6)
    lfd     %f22, AT_F + 64(%r6)
    lfd     %f23, AT_F + 72(%r6)
    lfd     %f24, AT_F + 80(%r6)
    lfd     %f25, AT_F + 88(%r6)
    lfd     %f26, AT_F + 96(%r6)
    lfd     %f27, AT_F + 104(%r6)
    lfd     %f28, AT_F + 112(%r6)
    lfd     %f29, AT_F + 120(%r6)
    lfd     %f30, AT_F + 128(%r6)
    lfd     %f31, AT_F + 136(%r6)
    li      %r0, AT_V + 0
    lxvd2x  %vs52, %r6, %r0
    li      %r0, AT_V + 16
    lxvd2x  %vs53, %r6, %r0
    li      %r0, AT_V + 32
    lxvd2x  %vs54, %r6, %r0
    li      %r0, AT_V + 48
    lxvd2x  %vs55, %r6, %r0
    li      %r0, AT_V + 64
    lxvd2x  %vs56, %r6, %r0
    li      %r0, AT_V + 80
    lxvd2x  %vs57, %r6, %r0
    li      %r0, AT_V + 96
    lxvd2x  %vs58, %r6, %r0
    li      %r0, AT_V + 112
    lxvd2x  %vs59, %r6, %r0
    li      %r0, AT_V + 128
    lxvd2x  %vs60, %r6, %r0
    li      %r0, AT_V + 144
    lxvd2x  %vs61, %r6, %r0
    li      %r0, AT_V + 160
    lxvd2x  %vs62, %r6, %r0
    li      %r0, AT_V + 176
    lxvd2x  %vs63, %r6, %r0
    lwz     %r0, AT_VRSAVE(%r6)
    mtvrsave %r0
    lwz     %r0, AT_CR(%r6)
    mtcrf   0x38, %r0
    lfd     %f0, AT_FPSCR(%r6)
    mtfsf   0x03, %f0

    ld      %r0, AT_LR(%r6)
    cmpdi   %r0, 0
    bne     .Lcall_from_site_1
    bl      C_SYMBOL(coro_arch_switch)
    nop
    li      %r0, 0
    b       .Lrecord
.Lcall_from_site_1:
    bl      C_SYMBOL(coro_arch_switch)
    nop
    li      %r0, 1

.Lrecord:
    ld      %r8, OWN_SEEN(%r1)
    std     %r0, AT_LR(%r8)
    ld      %r9, OWN_SP(%r1)
    subf    %r9, %r9, %r1
    std     %r9, AT_R1(%r8)
    std     %r2, AT_R2(%r8)
    std     %r14, AT_R + 0(%r8)
    std     %r15, AT_R + 8(%r8)
    std     %r16, AT_R + 16(%r8)
    std     %r17, AT_R + 24(%r8)
    std     %r18, AT_R + 32(%r8)
    std     %r19, AT_R + 40(%r8)
    std     %r20, AT_R + 48(%r8)
    std     %r21, AT_R + 56(%r8)
    std     %r22, AT_R + 64(%r8)
    std     %r23, AT_R + 72(%r8)
    std     %r24, AT_R + 80(%r8)
    std     %r25, AT_R + 88(%r8)
    std     %r26, AT_R + 96(%r8)
    std     %r27, AT_R + 104(%r8)
    std     %r28, AT_R + 112(%r8)
    std     %r29, AT_R + 120(%r8)
    std     %r30, AT_R + 128(%r8)
    std     %r31, AT_R + 136(%r8)
    stfd    %f14, AT_F + 0(%r8)
    stfd    %f15, AT_F + 8(%r8)
    stfd    %f16, AT_F + 16(%r8)
    stfd    %f17, AT_F + 24(%r8)
    stfd    %f18, AT_F + 32(%r8)
    stfd    %f19, AT_F + 40(%r8)
    stfd    %f20, AT_F + 48(%r8)
    stfd    %f21, AT_F + 56(%r8)
    stfd    %f22, AT_F + 64(%r8)
    stfd    %f23, AT_F + 72(%r8)
    stfd    %f24, AT_F + 80(%r8)
    stfd    %f25, AT_F + 88(%r8)
    stfd    %f26, AT_F + 96(%r8)
    stfd    %f27, AT_F + 104(%r8)
    stfd    %f28, AT_F + 112(%r8)
    stfd    %f29, AT_F + 120(%r8)
    stfd    %f30, AT_F + 128(%r8)
    stfd    %f31, AT_F + 136(%r8)
    li      %r0, AT_V + 0
    stxvd2x %vs52, %r8, %r0
    li      %r0, AT_V + 16
    stxvd2x %vs53, %r8, %r0
    li      %r0, AT_V + 32
    stxvd2x %vs54, %r8, %r0
    li      %r0, AT_V + 48
    stxvd2x %vs55, %r8, %r0
    li      %r0, AT_V + 64
    stxvd2x %vs56, %r8, %r0
    li      %r0, AT_V + 80
    stxvd2x %vs57, %r8, %r0
    li      %r0, AT_V + 96
    stxvd2x %vs58, %r8, %r0
    li      %r0, AT_V + 112
    stxvd2x %vs59, %r8, %r0
    li      %r0, AT_V + 128
    stxvd2x %vs60, %r8, %r0
    li      %r0, AT_V + 144
    stxvd2x %vs61, %r8, %r0
    li      %r0, AT_V + 160
    stxvd2x %vs62, %r8, %r0
    li      %r0, AT_V + 176
    stxvd2x %vs63, %r8, %r0
    mfvrsave %r0
    clrldi  %r0, %r0, 32
    std     %r0, AT_VRSAVE(%r8)
    mfcr    %r0
    clrldi  %r0, %r0, 32
    std     %r0, AT_CR(%r8)
    mffs    %f0
    stfd    %f0, AT_FPSCR(%r8)

    ld      %r2, OWN_TOC(%r1)
    ld      %r14, OWN_R + 0(%r1)
    ld      %r15, OWN_R + 8(%r1)
    ld      %r16, OWN_R + 16(%r1)
    ld      %r17, OWN_R + 24(%r1)
    ld      %r18, OWN_R + 32(%r1)
    ld      %r19, OWN_R + 40(%r1)
    ld      %r20, OWN_R + 48(%r1)
    ld      %r21, OWN_R + 56(%r1)
    ld      %r22, OWN_R + 64(%r1)
    ld      %r23, OWN_R + 72(%r1)
    ld      %r24, OWN_R + 80(%r1)
    ld      %r25, OWN_R + 88(%r1)
    ld      %r26, OWN_R + 96(%r1)
    ld      %r27, OWN_R + 104(%r1)
    ld      %r28, OWN_R + 112(%r1)
    ld      %r29, OWN_R + 120(%r1)
    ld      %r30, OWN_R + 128(%r1)
    ld      %r31, OWN_R + 136(%r1)
    lfd     %f14, OWN_F + 0(%r1)
    lfd     %f15, OWN_F + 8(%r1)
    lfd     %f16, OWN_F + 16(%r1)
    lfd     %f17, OWN_F + 24(%r1)
    lfd     %f18, OWN_F + 32(%r1)
    lfd     %f19, OWN_F + 40(%r1)
    lfd     %f20, OWN_F + 48(%r1)
    lfd     %f21, OWN_F + 56(%r1)
    lfd     %f22, OWN_F + 64(%r1)
    lfd     %f23, OWN_F + 72(%r1)
    lfd     %f24, OWN_F + 80(%r1)
    lfd     %f25, OWN_F + 88(%r1)
    lfd     %f26, OWN_F + 96(%r1)
    lfd     %f27, OWN_F + 104(%r1)
    lfd     %f28, OWN_F + 112(%r1)
    lfd     %f29, OWN_F + 120(%r1)
    lfd     %f30, OWN_F + 128(%r1)
    lfd     %f31, OWN_F + 136(%r1)
    li      %r0, OWN_V + 0
    lvx     %v20, %r1, %r0
    li      %r0, OWN_V + 16
    lvx     %v21, %r1, %r0
    li      %r0, OWN_V + 32
    lvx     %v22, %r1, %r0
    li      %r0, OWN_V + 48
    lvx     %v23, %r1, %r0
    li      %r0, OWN_V + 64
    lvx     %v24, %r1, %r0
    li      %r0, OWN_V + 80
    lvx     %v25, %r1, %r0
    li      %r0, OWN_V + 96
    lvx     %v26, %r1, %r0
    li      %r0, OWN_V + 112
    lvx     %v27, %r1, %r0
    li      %r0, OWN_V + 128
    lvx     %v28, %r1, %r0
    li      %r0, OWN_V + 144
    lvx     %v29, %r1, %r0
    li      %r0, OWN_V + 160
    lvx     %v30, %r1, %r0
    li      %r0, OWN_V + 176
    lvx     %v31, %r1, %r0
    lwz     %r0, OWN_VRSAVE(%r1)
    mtvrsave %r0
    lfd     %f0, OWN_FPSCR(%r1)
    mtfsf   0xff, %f0
    addi    %r1, %r1, FRAME
    .cfi_adjust_cfa_offset -FRAME
    ld      %r0, 16(%r1)
    lwz     %r12, 8(%r1)
    mtlr    %r0
    mtcrf   0x38, %r12
    blr
    .cfi_endproc
    END_FUNCTION regs_switch

    .section .note.GNU-stack, "", %progbits
