/*
 * Context switch for 32-bit Arm (ARMv7-A, Linux), Arm's "Procedure Call
 * Standard for the Arm Architecture" (AAPCS): as x86_64_sysv.S, except:
 *
 * ABI facts this file relies on (AAPCS section numbers of the releases since
 * 2019; editions before that number the same text 5.1.1, 5.1.2.1, 5.2.1.2):
 *   6.1.1 "Core registers": "A subroutine must preserve the contents of the
 *     registers r4-r8, r10, r11 and SP", and r9 where the platform makes it
 *     the callee-saved v6, as GNU/Linux does. lr carries the return
 *     address; the switch returns through the one saved in the frame.
 *   6.1.2.1 "VFP register usage conventions": s16-s31 (d8-d15) must be
 *     preserved; d0-d7 and d16-d31 need not be. Of the FPSCR, the condition
 *     flags, QC and the cumulative exception bits (0-4, 7) are not
 *     preserved; the exception-control bits (8-12, 15), rounding mode
 *     (22-23) and flush-to-zero (24) "may be modified by calls to specific
 *     support functions that affect the global state of the application",
 *     i.e. ordinary calls leave them alone; Len and Stride are zero at every
 *     public interface.
 *   6.2.1.2 "Stack constraints at a public interface": SP mod 8 = 0.
 *
 * void *coro_arch_switch(void **save_sp, void *load_sp, void *value);
 *                        r0              r1             r2    -> r0
 * void *coro_arch_make(void *stack_top, void *stack_bottom,
 *                      r0               r1 (unused)
 *                      coro_arch_start_fn start, void *arg);
 *                      r2                        r3         -> r0
 *
 * A suspended frame, at the saved stack pointer (CORO_ARCH_FRAME_SIZE = 104;
 * 40 without an FP unit, where the d8-d15 block is absent and the FPSCR slot
 * is kept as padding so the frame stays a multiple of 8 bytes):
 *
 *   offset  switch saved                 a fresh frame from make holds
 *   +100    lr (return address)          coro_arch_trampoline (| 1 in Thumb)
 *   +96     FPSCR (pushed from ip)       FPSCR of make's caller
 *   +92     r11                          0 (ends frame-pointer walks)
 *   +88     r10                          0
 *   +84     r9                           0
 *   +80     r8                           0
 *   +76     r7                           0 (the Thumb frame pointer)
 *   +72     r6                           0
 *   +68     r5                           arg
 *   +64     r4                           start
 *   +0      d8-d15, 8 bytes each         0
 *
 * FP control policy. C11 7.6 gives the floating-point environment thread
 * storage duration, and each coroutine is a thread of execution to its
 * code: as on x86-64, every context keeps its own control bits. They are
 * all FPSCR bits except the status ones the ABI does not preserve (31-27,
 * 7, 4-0). The FPSCR is always saved; the other side's is written back
 * only when a control bit differs, because vmsr fpscr serialises the FP
 * pipeline and the control bits almost never differ. When it is written,
 * the status bits come with it, which the ABI allows.
 *
 * Instruction sets. The file assembles as A32 or as Thumb-2, whichever the
 * compiler generates (Debian's armhf default is Thumb-2). Returns use bx,
 * so a Thumb caller may switch to an A32 context and back. The FP half is
 * built whenever there is an FP unit (__ARM_FP), whatever the float ABI:
 * with -mfloat-abi=softfp the compiler still keeps values in d8-d15.
 *
 * Unwinding. Arm Linux unwinds with the EHABI tables (.ARM.exidx), which
 * gas builds from .fnstart/.save/.vsave/.fnend; the .cfi directives go to
 * .debug_frame for debuggers.
 */
#include "../arch.h"
#include "asm.h"

#define RESUMER_CFI_SP 0x7d /* DW_OP_breg13: sp */
#define RESUMER_CFI_POINTER 4
#include "resumer_cfi.h"

#if defined(__thumb__) && !defined(__thumb2__)
#error "libcoro: Thumb-1 has no vpush/vpop or the registers this switch uses; build for ARMv7-A"
#endif

#if defined(__ARM_FP)
#define CORE_OFFSET 64      /* core registers sit above the d8-d15 block */
#else
#define CORE_OFFSET 0
#endif

#if defined(__thumb__)
#define THUMB_FUNC .thumb_func
#else
#define THUMB_FUNC
#endif

    .syntax unified
#if defined(__thumb__)
    .thumb
#else
    .arm
#endif
    .cfi_sections .debug_frame
    .text

    .p2align 4
    THUMB_FUNC
    FUNCTION coro_arch_switch
    .fnstart
    .cfi_startproc
#if defined(__ARM_FP)
    vmrs    ip, fpscr
#endif
    push    {r4-r12, lr}
    .save   {r4-r12, lr}
    .cfi_adjust_cfa_offset 40
    .cfi_rel_offset r4, 0
    .cfi_rel_offset r5, 4
    .cfi_rel_offset r6, 8
    .cfi_rel_offset r7, 12
    .cfi_rel_offset r8, 16
    .cfi_rel_offset r9, 20
    .cfi_rel_offset r10, 24
    .cfi_rel_offset r11, 28
    .cfi_rel_offset lr, 36
#if defined(__ARM_FP)
    vpush   {d8-d15}
    .vsave  {d8-d15}
    .cfi_adjust_cfa_offset 64
    .cfi_rel_offset d8, 0
    .cfi_rel_offset d9, 8
    .cfi_rel_offset d10, 16
    .cfi_rel_offset d11, 24
    .cfi_rel_offset d12, 32
    .cfi_rel_offset d13, 40
    .cfi_rel_offset d14, 48
    .cfi_rel_offset d15, 56
#endif

    /* Both stacks hold a frame of the same shape, so the unwind data above
     * stays true after sp changes. */
    str     sp, [r0]
#if defined(__ARM_FP)
    mov     r0, ip
#endif
    mov     sp, r1

#if defined(__ARM_FP)
    vpop    {d8-d15}
    .cfi_adjust_cfa_offset -64
#endif
    pop     {r4-r12, lr}
    .cfi_adjust_cfa_offset -40
    .cfi_restore r4
    .cfi_restore r5
    .cfi_restore r6
    .cfi_restore r7
    .cfi_restore r8
    .cfi_restore r9
    .cfi_restore r10
    .cfi_restore r11
    .cfi_restore lr
#if defined(__ARM_FP)
    /* r0: this side's FPSCR, ip: the other side's. Clear the status bits
     * from their difference (no single immediate covers 0xf800009f). */
    eor     r0, r0, ip
    bic     r0, r0, #0xf8000000
    bics    r0, r0, #0x9f
    bne     .Lreload_fpscr
#endif
.Lreturn:
    mov     r0, r2
    bx      lr

#if defined(__ARM_FP)
.Lreload_fpscr:
    vmsr    fpscr, ip
    b       .Lreturn
#endif
    .cfi_endproc
    .fnend
    END_FUNCTION coro_arch_switch

    .p2align 2
    THUMB_FUNC
    FUNCTION coro_arch_make
    .fnstart
    .cfi_startproc
    /* The trampoline's call must see sp a multiple of 8 (6.2.1.2); 16 costs
     * nothing more. The frame size is a multiple of 8, so the sp the frame
     * leaves behind keeps that alignment. */
    bic     r0, r0, #15
    sub     r0, r0, #CORO_ARCH_FRAME_SIZE
    add     ip, r0, #CORE_OFFSET
    str     r2, [ip, #0]
    str     r3, [ip, #4]
    movs    r2, #0
    movs    r3, #0
    strd    r2, r3, [ip, #8]
    strd    r2, r3, [ip, #16]
    strd    r2, r3, [ip, #24]
#if defined(__ARM_FP)
    vmrs    r1, fpscr
    str     r1, [ip, #32]
    .irp    offset, 0, 8, 16, 24, 32, 40, 48, 56
    strd    r2, r3, [r0, #\offset]
    .endr
#else
    str     r2, [ip, #32]
#endif
    /* bx needs bit 0 set to enter Thumb; not every assembler's adr sets it
     * for a Thumb function. */
    adr     r1, coro_arch_trampoline
#if defined(__thumb__)
    orr     r1, r1, #1
#endif
    str     r1, [ip, #36]
    bx      lr
    .cfi_endproc
    .fnend
    END_FUNCTION coro_arch_make

/*
 * The first switch into a coroutine returns here with the value in r0,
 * start in r4, arg (the control block) in r5 and sp 16-byte aligned; udf
 * raises SIGILL should start return.
 *
 * Unwinding past the root, as in x86_64_sysv.S, both ways Arm unwinds. The
 * trampoline keeps the control block and the address of a frame of zeros at
 * its sp (8 bytes: sp stays 8-aligned for the call, 6.2.1.2).
 *  - DWARF (.debug_frame, read by gdb): the rules below lead into the
 *    resumer's suspended frame (drawn above; CFA = its saved sp +
 *    CORO_ARCH_FRAME_SIZE), or, with no resumer, to a return address of 0
 *    (src/arch/resumer_cfi.h). DWARF numbers ("DWARF for the Arm
 *    Architecture", 4.1): r0-r15 are 0-15, d0-d31 are 256-287.
 *  - EHABI (.ARM.exidx, read by libgcc's _Unwind_Backtrace and glibc's
 *    backtrace()): its unwind instructions cannot load sp from memory, so
 *    the entry names a personality routine that moves the unwinder to the
 *    resumer's frame for a backtrace and refuses everything else
 *    (src/arch/arm_unwind.c).
 */
    .p2align 2
    THUMB_FUNC
    LOCAL_FUNCTION coro_arch_trampoline
    .fnstart
    .personality coro_arch_unwind_personality
    .cfi_startproc
    .cfi_undefined lr
    adr     r6, LOCAL_LABEL(no_resumer_frame)
    push    {r5, r6}
    RESUMER_CFI_CFA(CORO_ARCH_FRAME_SIZE, 8)
    RESUMER_CFI_SAVED(4, CORE_OFFSET + 0)
    RESUMER_CFI_SAVED(5, CORE_OFFSET + 4)
    RESUMER_CFI_SAVED(6, CORE_OFFSET + 8)
    RESUMER_CFI_SAVED(7, CORE_OFFSET + 12)
    RESUMER_CFI_SAVED(8, CORE_OFFSET + 16)
    RESUMER_CFI_SAVED(9, CORE_OFFSET + 20)
    RESUMER_CFI_SAVED(10, CORE_OFFSET + 24)
    RESUMER_CFI_SAVED(11, CORE_OFFSET + 28)
    RESUMER_CFI_SAVED(14, CORE_OFFSET + 36)    /* lr, the return address */
#if defined(__ARM_FP)
    RESUMER_CFI_SAVED(264, 0)                  /* d8 */
    RESUMER_CFI_SAVED(265, 8)
    RESUMER_CFI_SAVED(266, 16)
    RESUMER_CFI_SAVED(267, 24)
    RESUMER_CFI_SAVED(268, 32)
    RESUMER_CFI_SAVED(269, 40)
    RESUMER_CFI_SAVED(270, 48)
    RESUMER_CFI_SAVED(271, 56)                 /* d15 */
#endif
    mov     r1, r5
    blx     r4
    udf     #0
    .cfi_endproc
    .fnend
    END_FUNCTION coro_arch_trampoline

/* The frame the DWARF rules above read when there is no resumer. */
    .p2align 3
LOCAL_LABEL(no_resumer_frame):
    .fill   CORO_ARCH_FRAME_SIZE, 1, 0

    .section .note.GNU-stack, "", %progbits
