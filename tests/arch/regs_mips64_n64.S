/*
 * Test helper for test_registers, MIPS n64 (see src/arch/mips64_n64.S for
 * the ABI sections).
 *
 * void regs_switch(void **save_sp, void *load_sp, void *value,
 *                  a0               a1             a2
 *                  const uint64_t *fill, uint64_t *seen);
 *                  a3                    a4
 *
 * Loads every callee-saved register from fill[] (in the order of regs_names
 * in test_registers.c: ra sp fp gp s0-s7 f24-f31 fcsr), calls
 * coro_arch_switch, and when control comes back writes what the registers
 * then hold into seen[]. It restores the caller's own registers and FCSR
 * before returning, so it is itself ABI-conforming.
 *
 * ra cannot be filled with a sentinel: the call writes it. Instead fill[0]
 * picks one of two call sites (0 or 1), and each site writes its own number
 * to seen[0] once the switch returns there, as in regs_riscv64.S. For sp,
 * seen[1] is the difference from before the call, which must be 0 (fill[1]
 * is not used). gp holds a sentinel across the switch, so the switch's
 * address is fetched from the GOT (with this function's own gp, computed
 * from t9 as a PIC prologue does) before the sentinels are loaded.
 */

/* Own frame: ra fp gp s0-s7 (0..80), f24-f31 (88..144), FCSR (152), seen
 * (160), sp before the call (168). */
#define FRAME 176
#define OWN_F 88
#define OWN_FCSR 152
#define OWN_SEEN 160
#define OWN_SP 168

/* fill[] and seen[] offsets. */
#define AT_RA 0
#define AT_SP 8
#define AT_FP 16
#define AT_GP 24
#define AT_S 32
#define AT_F 96
#define AT_FCSR 160

    .text
    .globl  regs_switch
    .type   regs_switch, @function
    .ent    regs_switch
    .p2align 3
regs_switch:
    .cfi_startproc
    daddiu  $sp, $sp, -FRAME
    .cfi_adjust_cfa_offset FRAME
    sd      $ra, 0($sp)
    .cfi_rel_offset $31, 0
    sd      $fp, 8($sp)
    sd      $gp, 16($sp)
    sd      $s0, 24($sp)
    sd      $s1, 32($sp)
    sd      $s2, 40($sp)
    sd      $s3, 48($sp)
    sd      $s4, 56($sp)
    sd      $s5, 64($sp)
    sd      $s6, 72($sp)
    sd      $s7, 80($sp)
    sdc1    $f24, OWN_F + 0($sp)
    sdc1    $f25, OWN_F + 8($sp)
    sdc1    $f26, OWN_F + 16($sp)
    sdc1    $f27, OWN_F + 24($sp)
    sdc1    $f28, OWN_F + 32($sp)
    sdc1    $f29, OWN_F + 40($sp)
    sdc1    $f30, OWN_F + 48($sp)
    sdc1    $f31, OWN_F + 56($sp)
    cfc1    $t0, $31
    sd      $t0, OWN_FCSR($sp)
    sd      $a4, OWN_SEEN($sp)
    sd      $sp, OWN_SP($sp)

    lui     $gp, %hi(%neg(%gp_rel(regs_switch)))
    daddu   $gp, $gp, $t9
    daddiu  $gp, $gp, %lo(%neg(%gp_rel(regs_switch)))
    ld      $t9, %got_disp(coro_arch_switch)($gp)

    ld      $t0, AT_FCSR($a3)
    ctc1    $t0, $31
    ld      $fp, AT_FP($a3)
    ld      $gp, AT_GP($a3)
    ld      $s0, AT_S + 0($a3)
    ld      $s1, AT_S + 8($a3)
    ld      $s2, AT_S + 16($a3)
    ld      $s3, AT_S + 24($a3)
    ld      $s4, AT_S + 32($a3)
    ld      $s5, AT_S + 40($a3)
    ld      $s6, AT_S + 48($a3)
    ld      $s7, AT_S + 56($a3)
    ldc1    $f24, AT_F + 0($a3)
    ldc1    $f25, AT_F + 8($a3)
    ldc1    $f26, AT_F + 16($a3)
    ldc1    $f27, AT_F + 24($a3)
    ldc1    $f28, AT_F + 32($a3)
    ldc1    $f29, AT_F + 40($a3)
    ldc1    $f30, AT_F + 48($a3)
    ldc1    $f31, AT_F + 56($a3)

    ld      $t0, AT_RA($a3)
    bnez    $t0, .Lcall_from_site_1
    jalr    $t9
    li      $t0, 0
    b       .Lrecord
.Lcall_from_site_1:
    jalr    $t9
    li      $t0, 1

.Lrecord:
    ld      $a4, OWN_SEEN($sp)
    sd      $t0, AT_RA($a4)
    ld      $t1, OWN_SP($sp)
    dsubu   $t1, $sp, $t1
    sd      $t1, AT_SP($a4)
    sd      $fp, AT_FP($a4)
    sd      $gp, AT_GP($a4)
    sd      $s0, AT_S + 0($a4)
    sd      $s1, AT_S + 8($a4)
    sd      $s2, AT_S + 16($a4)
    sd      $s3, AT_S + 24($a4)
    sd      $s4, AT_S + 32($a4)
    sd      $s5, AT_S + 40($a4)
    sd      $s6, AT_S + 48($a4)
    sd      $s7, AT_S + 56($a4)
    sdc1    $f24, AT_F + 0($a4)
    sdc1    $f25, AT_F + 8($a4)
    sdc1    $f26, AT_F + 16($a4)
    sdc1    $f27, AT_F + 24($a4)
    sdc1    $f28, AT_F + 32($a4)
    sdc1    $f29, AT_F + 40($a4)
    sdc1    $f30, AT_F + 48($a4)
    sdc1    $f31, AT_F + 56($a4)
    cfc1    $t0, $31
    sd      $t0, AT_FCSR($a4)

    ld      $t0, OWN_FCSR($sp)
    ctc1    $t0, $31
    ldc1    $f24, OWN_F + 0($sp)
    ldc1    $f25, OWN_F + 8($sp)
    ldc1    $f26, OWN_F + 16($sp)
    ldc1    $f27, OWN_F + 24($sp)
    ldc1    $f28, OWN_F + 32($sp)
    ldc1    $f29, OWN_F + 40($sp)
    ldc1    $f30, OWN_F + 48($sp)
    ldc1    $f31, OWN_F + 56($sp)
    ld      $ra, 0($sp)
    ld      $fp, 8($sp)
    ld      $gp, 16($sp)
    ld      $s0, 24($sp)
    ld      $s1, 32($sp)
    ld      $s2, 40($sp)
    ld      $s3, 48($sp)
    ld      $s4, 56($sp)
    ld      $s5, 64($sp)
    ld      $s6, 72($sp)
    ld      $s7, 80($sp)
    daddiu  $sp, $sp, FRAME
    .cfi_adjust_cfa_offset -FRAME
    jr      $ra
    .cfi_endproc
    .end    regs_switch
    .size   regs_switch, .-regs_switch

    .section .note.GNU-stack, "", @progbits
