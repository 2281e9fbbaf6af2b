/*
 * Test helper for test_registers, System V AMD64 (see src/arch/x86_64_sysv.S
 * for the ABI sections).
 *
 * void regs_switch(void **save_sp, void *load_sp, void *value,
 *                  rdi              rsi            rdx
 *                  const uint64_t *fill, uint64_t *seen);
 *                  rcx                   r8
 *
 * Loads every callee-saved register from fill[] (REGS_COUNT entries, in the
 * order of regs_names in test_registers.c: rbx rbp r12 r13 r14 r15 mxcsr
 * x87cw rsp), calls coro_arch_switch, and when control comes back writes what
 * the registers then hold into seen[]. For rsp it writes the difference from
 * before the call, which must be 0. It restores the caller's own registers
 * and FP control state before returning, so it is itself ABI-conforming.
 */
#include "arch/asm.h"
    .text
    .p2align 4
    FUNCTION regs_switch
    .cfi_startproc
    pushq   %rbp
    .cfi_adjust_cfa_offset 8
    pushq   %rbx
    .cfi_adjust_cfa_offset 8
    pushq   %r12
    .cfi_adjust_cfa_offset 8
    pushq   %r13
    .cfi_adjust_cfa_offset 8
    pushq   %r14
    .cfi_adjust_cfa_offset 8
    pushq   %r15
    .cfi_adjust_cfa_offset 8
    subq    $24, %rsp               /* keeps rsp 16-aligned for the call */
    .cfi_adjust_cfa_offset 24
    stmxcsr 0(%rsp)
    fnstcw  4(%rsp)
    movq    %r8, 8(%rsp)
    movq    %rsp, 16(%rsp)

    movq    0(%rcx), %rbx
    movq    8(%rcx), %rbp
    movq    16(%rcx), %r12
    movq    24(%rcx), %r13
    movq    32(%rcx), %r14
    movq    40(%rcx), %r15
    ldmxcsr 48(%rcx)
    fldcw   56(%rcx)

    call    C_SYMBOL(coro_arch_switch)

    movq    8(%rsp), %r8
    movq    %rbx, 0(%r8)
    movq    %rbp, 8(%r8)
    movq    %r12, 16(%r8)
    movq    %r13, 24(%r8)
    movq    %r14, 32(%r8)
    movq    %r15, 40(%r8)
    movq    $0, 48(%r8)
    stmxcsr 48(%r8)
    movq    $0, 56(%r8)
    fnstcw  56(%r8)
    movq    %rsp, %rcx
    subq    16(%rsp), %rcx
    movq    %rcx, 64(%r8)

    ldmxcsr 0(%rsp)
    fldcw   4(%rsp)
    addq    $24, %rsp
    .cfi_adjust_cfa_offset -24
    popq    %r15
    .cfi_adjust_cfa_offset -8
    popq    %r14
    .cfi_adjust_cfa_offset -8
    popq    %r13
    .cfi_adjust_cfa_offset -8
    popq    %r12
    .cfi_adjust_cfa_offset -8
    popq    %rbx
    .cfi_adjust_cfa_offset -8
    popq    %rbp
    .cfi_adjust_cfa_offset -8
    ret
    .cfi_endproc
    END_FUNCTION regs_switch

#if !CORO_MACHO
/* No executable stack: without this note the linker makes one. */
    .section .note.GNU-stack, "", %progbits
#endif
