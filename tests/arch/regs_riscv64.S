/*
 * Test helper for test_registers, RISC-V 64 (see src/arch/riscv64.S for the
 * ABI sections).
 *
 * void regs_switch(void **save_sp, void *load_sp, void *value,
 *                  a0               a1             a2
 *                  const uint64_t *fill, uint64_t *seen);
 *                  a3                    a4
 *
 * Loads every callee-saved register from fill[] (in the order of regs_names
 * in test_registers.c: ra sp s0-s11, then fs0-fs11 frm when the F extension
 * is there), calls coro_arch_switch, and when control comes back writes what
 * the registers then hold into seen[]. It restores the caller's own registers
 * and frm before returning, so it is itself ABI-conforming.
 *
 * ra cannot be filled with a sentinel: the call writes it. Instead fill[0]
 * picks one of two call sites (0 or 1), and each site writes its own number
 * to seen[0] once the switch returns there. The two sides of the test use
 * different sites, so a switch that returned through the wrong ra lands at
 * the other side's site and is caught. For sp, seen[1] is the difference
 * from before the call, which must be 0 (fill[1] is not used).
 */
#include "arch/asm.h"
#if defined(__riscv_flen)
#if __riscv_flen == 64
#define FP_SAVE fsd
#define FP_LOAD fld
#elif __riscv_flen == 32
#define FP_SAVE fsw
#define FP_LOAD flw
#endif
#endif

/* Own frame: ra s0-s11 (0..96), fs0-fs11 (104..192), frm (200), seen
 * (208), sp before the call (216). */
#define FRAME 224
#define OWN_FS 104
#define OWN_FRM 200
#define OWN_SEEN 208
#define OWN_SP 216

/* fill[] and seen[] offsets. */
#define AT_RA 0
#define AT_SP 8
#define AT_S 16
#define AT_FS 112
#define AT_FRM 208

    .text
    .p2align 2
    FUNCTION regs_switch
    .cfi_startproc
    addi    sp, sp, -FRAME
    .cfi_adjust_cfa_offset FRAME
    sd      ra, 0(sp)
    .cfi_rel_offset ra, 0
    sd      s0, 8(sp)
    sd      s1, 16(sp)
    sd      s2, 24(sp)
    sd      s3, 32(sp)
    sd      s4, 40(sp)
    sd      s5, 48(sp)
    sd      s6, 56(sp)
    sd      s7, 64(sp)
    sd      s8, 72(sp)
    sd      s9, 80(sp)
    sd      s10, 88(sp)
    sd      s11, 96(sp)
#if defined(__riscv_flen)
    FP_SAVE fs0, OWN_FS + 0(sp)
    FP_SAVE fs1, OWN_FS + 8(sp)
    FP_SAVE fs2, OWN_FS + 16(sp)
    FP_SAVE fs3, OWN_FS + 24(sp)
    FP_SAVE fs4, OWN_FS + 32(sp)
    FP_SAVE fs5, OWN_FS + 40(sp)
    FP_SAVE fs6, OWN_FS + 48(sp)
    FP_SAVE fs7, OWN_FS + 56(sp)
    FP_SAVE fs8, OWN_FS + 64(sp)
    FP_SAVE fs9, OWN_FS + 72(sp)
    FP_SAVE fs10, OWN_FS + 80(sp)
    FP_SAVE fs11, OWN_FS + 88(sp)
    frrm    t0
    sd      t0, OWN_FRM(sp)
#endif
    sd      a4, OWN_SEEN(sp)
    sd      sp, OWN_SP(sp)

    ld      s0, AT_S + 0(a3)
    ld      s1, AT_S + 8(a3)
    ld      s2, AT_S + 16(a3)
    ld      s3, AT_S + 24(a3)
    ld      s4, AT_S + 32(a3)
    ld      s5, AT_S + 40(a3)
    ld      s6, AT_S + 48(a3)
    ld      s7, AT_S + 56(a3)
    ld      s8, AT_S + 64(a3)
    ld      s9, AT_S + 72(a3)
    ld      s10, AT_S + 80(a3)
    ld      s11, AT_S + 88(a3)
#if defined(__riscv_flen)
    FP_LOAD fs0, AT_FS + 0(a3)
    FP_LOAD fs1, AT_FS + 8(a3)
    FP_LOAD fs2, AT_FS + 16(a3)
    FP_LOAD fs3, AT_FS + 24(a3)
    FP_LOAD fs4, AT_FS + 32(a3)
    FP_LOAD fs5, AT_FS + 40(a3)
    FP_LOAD fs6, AT_FS + 48(a3)
    FP_LOAD fs7, AT_FS + 56(a3)
    FP_LOAD fs8, AT_FS + 64(a3)
    FP_LOAD fs9, AT_FS + 72(a3)
    FP_LOAD fs10, AT_FS + 80(a3)
    FP_LOAD fs11, AT_FS + 88(a3)
    ld      t0, AT_FRM(a3)
    fsrm    t0
#endif

    ld      t0, AT_RA(a3)
    bnez    t0, .Lcall_from_site_1
    call    C_SYMBOL(coro_arch_switch)
    li      t0, 0
    j       .Lrecord
.Lcall_from_site_1:
    call    C_SYMBOL(coro_arch_switch)
    li      t0, 1

.Lrecord:
    ld      a4, OWN_SEEN(sp)
    sd      t0, AT_RA(a4)
    ld      t1, OWN_SP(sp)
    sub     t1, sp, t1
    sd      t1, AT_SP(a4)
    sd      s0, AT_S + 0(a4)
    sd      s1, AT_S + 8(a4)
    sd      s2, AT_S + 16(a4)
    sd      s3, AT_S + 24(a4)
    sd      s4, AT_S + 32(a4)
    sd      s5, AT_S + 40(a4)
    sd      s6, AT_S + 48(a4)
    sd      s7, AT_S + 56(a4)
    sd      s8, AT_S + 64(a4)
    sd      s9, AT_S + 72(a4)
    sd      s10, AT_S + 80(a4)
    sd      s11, AT_S + 88(a4)
#if defined(__riscv_flen)
#if __riscv_flen == 32
    /* fsw writes only the low half of each 64-bit slot. */
    sd      zero, AT_FS + 0(a4)
    sd      zero, AT_FS + 8(a4)
    sd      zero, AT_FS + 16(a4)
    sd      zero, AT_FS + 24(a4)
    sd      zero, AT_FS + 32(a4)
    sd      zero, AT_FS + 40(a4)
    sd      zero, AT_FS + 48(a4)
    sd      zero, AT_FS + 56(a4)
    sd      zero, AT_FS + 64(a4)
    sd      zero, AT_FS + 72(a4)
    sd      zero, AT_FS + 80(a4)
    sd      zero, AT_FS + 88(a4)
#endif
    FP_SAVE fs0, AT_FS + 0(a4)
    FP_SAVE fs1, AT_FS + 8(a4)
    FP_SAVE fs2, AT_FS + 16(a4)
    FP_SAVE fs3, AT_FS + 24(a4)
    FP_SAVE fs4, AT_FS + 32(a4)
    FP_SAVE fs5, AT_FS + 40(a4)
    FP_SAVE fs6, AT_FS + 48(a4)
    FP_SAVE fs7, AT_FS + 56(a4)
    FP_SAVE fs8, AT_FS + 64(a4)
    FP_SAVE fs9, AT_FS + 72(a4)
    FP_SAVE fs10, AT_FS + 80(a4)
    FP_SAVE fs11, AT_FS + 88(a4)
    frrm    t0
    sd      t0, AT_FRM(a4)

    FP_LOAD fs0, OWN_FS + 0(sp)
    FP_LOAD fs1, OWN_FS + 8(sp)
    FP_LOAD fs2, OWN_FS + 16(sp)
    FP_LOAD fs3, OWN_FS + 24(sp)
    FP_LOAD fs4, OWN_FS + 32(sp)
    FP_LOAD fs5, OWN_FS + 40(sp)
    FP_LOAD fs6, OWN_FS + 48(sp)
    FP_LOAD fs7, OWN_FS + 56(sp)
    FP_LOAD fs8, OWN_FS + 64(sp)
    FP_LOAD fs9, OWN_FS + 72(sp)
    FP_LOAD fs10, OWN_FS + 80(sp)
    FP_LOAD fs11, OWN_FS + 88(sp)
    ld      t0, OWN_FRM(sp)
    fsrm    t0
#endif
    ld      ra, 0(sp)
    ld      s0, 8(sp)
    ld      s1, 16(sp)
    ld      s2, 24(sp)
    ld      s3, 32(sp)
    ld      s4, 40(sp)
    ld      s5, 48(sp)
    ld      s6, 56(sp)
    ld      s7, 64(sp)
    ld      s8, 72(sp)
    ld      s9, 80(sp)
    ld      s10, 88(sp)
    ld      s11, 96(sp)
    addi    sp, sp, FRAME
    .cfi_adjust_cfa_offset -FRAME
    ret
    .cfi_endproc
    END_FUNCTION regs_switch

    .section .note.GNU-stack, "", %progbits
