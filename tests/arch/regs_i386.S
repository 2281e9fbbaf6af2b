/*
 * Test helper for test_registers, i386 (see src/arch/i386.S for the ABI
 * sections).
 *
 * void regs_switch(void **save_sp, void *load_sp, void *value,
 *                  4(%esp)          8(%esp)        12(%esp)
 *                  const uint64_t *fill, uint64_t *seen);
 *                  16(%esp)              20(%esp)
 *
 * Loads every callee-saved register from the low half of fill[] (in the
 * order of regs_names in test_registers.c: ebx ebp esi edi esp x87cw, then
 * mxcsr when built with SSE), calls coro_arch_switch, and when control comes
 * back writes what the registers then hold into seen[]. For esp it writes
 * the difference from before the call, which must be 0 (fill[4] is not
 * used). It restores the caller's own registers and FP control state before
 * returning, so it is itself ABI-conforming.
 */
#include "arch/asm.h"

/* Own frame above the three outgoing arguments (0..8): MXCSR (16), x87 CW
 * (20), seen (24), esp before the call (28). 44 bytes after the four pushes
 * leave esp 16-aligned at the call. */
#define FRAME 44
#define OWN_MXCSR 16
#define OWN_CW 20
#define OWN_SEEN 24
#define OWN_SP 28
/* The incoming arguments, once the frame is set up. */
#define ARG(n) (FRAME + 16 + 4 + 4 * (n))(%esp)

/* fill[] and seen[] offsets. */
#define AT_EBX 0
#define AT_EBP 8
#define AT_ESI 16
#define AT_EDI 24
#define AT_ESP 32
#define AT_CW 40
#define AT_MXCSR 48

    .text
    .p2align 4
    FUNCTION regs_switch
    .cfi_startproc
    pushl   %ebp
    .cfi_adjust_cfa_offset 4
    pushl   %ebx
    .cfi_adjust_cfa_offset 4
    pushl   %esi
    .cfi_adjust_cfa_offset 4
    pushl   %edi
    .cfi_adjust_cfa_offset 4
    subl    $FRAME, %esp
    .cfi_adjust_cfa_offset FRAME
#if defined(__SSE__)
    stmxcsr OWN_MXCSR(%esp)
#endif
    fnstcw  OWN_CW(%esp)
    movl    ARG(4), %eax
    movl    %eax, OWN_SEEN(%esp)
    movl    ARG(0), %eax
    movl    %eax, 0(%esp)
    movl    ARG(1), %eax
    movl    %eax, 4(%esp)
    movl    ARG(2), %eax
    movl    %eax, 8(%esp)
    movl    %esp, OWN_SP(%esp)

    movl    ARG(3), %eax
#if defined(__SSE__)
    ldmxcsr AT_MXCSR(%eax)
#endif
    fldcw   AT_CW(%eax)
    movl    AT_EBX(%eax), %ebx
    movl    AT_EBP(%eax), %ebp
    movl    AT_ESI(%eax), %esi
    movl    AT_EDI(%eax), %edi

    call    C_SYMBOL(coro_arch_switch)

    movl    OWN_SEEN(%esp), %ecx
    movl    %ebx, AT_EBX(%ecx)
    movl    $0, AT_EBX + 4(%ecx)
    movl    %ebp, AT_EBP(%ecx)
    movl    $0, AT_EBP + 4(%ecx)
    movl    %esi, AT_ESI(%ecx)
    movl    $0, AT_ESI + 4(%ecx)
    movl    %edi, AT_EDI(%ecx)
    movl    $0, AT_EDI + 4(%ecx)
    movl    %esp, %edx
    subl    OWN_SP(%esp), %edx
    movl    %edx, AT_ESP(%ecx)
    movl    $0, AT_ESP + 4(%ecx)
    movl    $0, AT_CW(%ecx)
    movl    $0, AT_CW + 4(%ecx)
    fnstcw  AT_CW(%ecx)
#if defined(__SSE__)
    movl    $0, AT_MXCSR + 4(%ecx)
    stmxcsr AT_MXCSR(%ecx)
    ldmxcsr OWN_MXCSR(%esp)
#endif
    fldcw   OWN_CW(%esp)
    addl    $FRAME, %esp
    .cfi_adjust_cfa_offset -FRAME
    popl    %edi
    .cfi_adjust_cfa_offset -4
    popl    %esi
    .cfi_adjust_cfa_offset -4
    popl    %ebx
    .cfi_adjust_cfa_offset -4
    popl    %ebp
    .cfi_adjust_cfa_offset -4
    ret
    .cfi_endproc
    END_FUNCTION regs_switch

    .section .note.GNU-stack, "", %progbits
