/*
 * Context switch for i386 (IA-32) on Linux. As x86_64_sysv.S, except:
 *  - every argument arrives on the stack, not in registers;
 *  - the callee-saved set is ebx, esi, edi, ebp and esp;
 *  - MXCSR is saved and reloaded only when the compiler may use SSE
 *    (__SSE__, e.g. -msse2 -mfpmath=sse): Debian's i686 default (-march=i686,
 *    x87 maths) has no SSE, and there the switch carries the x87 control
 *    word alone (see "FP control" below);
 *  - the trampoline's address comes from a PC-relative computation (a local
 *    thunk), so the library has no text relocation under -fPIC;
 *  - the trampoline's unwind rules end every walk at the coroutine's root
 *    (no walk into the resumer);
 *  - no IBT landing pads: built with -fcf-protection the object carries no
 *    IBT property note, so the linked program is simply not marked for IBT.
 *
 * ABI facts this file relies on (System V ABI, Intel386 Architecture
 * Processor Supplement, version 1.1):
 *   2.2.1 "Registers", table 2.3 "Register Usage": ebx, esi, edi, ebp and
 *     esp belong to the caller and must be preserved; eax, ecx and edx are
 *     scratch; eax carries an integer or pointer result. "The control bits
 *     of the MXCSR register are callee-saved, while the status bits are
 *     caller-saved. The x87 status word register is caller-saved, whereas
 *     the x87 control word is callee-saved."
 *   2.2.2 "The Stack Frame": "the value (%esp + 4) is always a multiple of
 *     16 ... when control is transferred to the function entry point", i.e.
 *     esp is a multiple of 16 just before the call. Arguments sit at 4(%esp),
 *     8(%esp), ... at entry, pushed right to left by the caller, who also
 *     removes them.
 *
 * void *coro_arch_switch(void **save_sp, void *load_sp, void *value);
 *                        4(%esp)          8(%esp)        12(%esp) -> eax
 * void *coro_arch_make(void *stack_top, void *stack_bottom,
 *                      4(%esp)          8(%esp) (unused)
 *                      coro_arch_start_fn start, void *arg);
 *                      12(%esp)                  16(%esp)  -> eax
 *
 * A suspended frame, at the saved stack pointer (CORO_ARCH_FRAME_SIZE = 28):
 *
 *   offset  switch saved                 a fresh frame from make holds
 *   +24     return address               coro_arch_trampoline
 *   +20     ebp                          0 (ends frame-pointer walks)
 *   +16     ebx                          arg
 *   +12     esi                          start
 *   +8      edi                          0
 *   +4      x87 CW (2 bytes), 2 unused   CW of make's caller
 *   +0      MXCSR (with __SSE__; otherwise unused)
 *                                        MXCSR of make's caller, or 0
 *
 * FP control. The x87 control word (rounding, precision, exception masks)
 * belongs to each context, as on x86-64, and is reloaded only when the
 * target's differs. MXCSR too when __SSE__ is defined, reloaded on every
 * switch (its status flags come with it, which the ABI allows). The speed
 * reasons are those measured for x86_64_sysv.S, not remeasured here. Without
 * __SSE__, MXCSR is the thread's: glibc's fesetround() still sets the
 * rounding mode of both units on a processor with SSE, so a program that
 * does SSE maths must build libcoro with the same -msse flags to keep its
 * SSE rounding mode per context.
 *
 * Returning: as on x86-64, the switch pops the return address and jumps to
 * it, so the return into the other stack is not predicted from the call
 * that entered the switch.
 */
#include "../arch.h"
#include "asm.h"

#if CORO_ARCH_FRAME_SIZE != 28
#error "i386.S: CORO_ARCH_FRAME_SIZE does not match the frame drawn above"
#endif

    .text

    .p2align 4
    FUNCTION coro_arch_switch
    .cfi_startproc
    movl    4(%esp), %ecx
    movl    8(%esp), %edx
    movl    12(%esp), %eax
    pushl   %ebp
    .cfi_adjust_cfa_offset 4
    .cfi_rel_offset %ebp, 0
    pushl   %ebx
    .cfi_adjust_cfa_offset 4
    .cfi_rel_offset %ebx, 0
    pushl   %esi
    .cfi_adjust_cfa_offset 4
    .cfi_rel_offset %esi, 0
    pushl   %edi
    .cfi_adjust_cfa_offset 4
    .cfi_rel_offset %edi, 0
    subl    $8, %esp
    .cfi_adjust_cfa_offset 8
#if defined(__SSE__)
    stmxcsr (%esp)
#endif
    fnstcw  4(%esp)

    /* Both stacks hold a frame of the same shape, so the CFI above stays
     * true after the stack pointer changes. */
    movl    %esp, (%ecx)
    movzwl  4(%esp), %ecx
    movl    %edx, %esp
#if defined(__SSE__)
    ldmxcsr (%esp)
#endif
    cmpw    4(%esp), %cx
    jne     .Lreload_x87_control_word
.Lrestore:
    .cfi_remember_state
    addl    $8, %esp
    .cfi_adjust_cfa_offset -8
    popl    %edi
    .cfi_adjust_cfa_offset -4
    popl    %esi
    .cfi_adjust_cfa_offset -4
    popl    %ebx
    .cfi_adjust_cfa_offset -4
    popl    %ebp
    .cfi_adjust_cfa_offset -4
    popl    %ecx
    .cfi_adjust_cfa_offset -4
    .cfi_register %eip, %ecx
    jmp     *%ecx

.Lreload_x87_control_word:
    .cfi_restore_state
    fldcw   4(%esp)
    jmp     .Lrestore
    .cfi_endproc
    END_FUNCTION coro_arch_switch

    .p2align 4
    FUNCTION coro_arch_make
    .cfi_startproc
    /* The trampoline starts with esp at the 16-byte boundary the frame sits
     * just below, and aligns its own call from there (2.2.2). */
    movl    4(%esp), %eax
    andl    $-16, %eax
    subl    $28, %eax
#if defined(__SSE__)
    stmxcsr (%eax)
#else
    movl    $0, (%eax)
#endif
    fnstcw  4(%eax)
    movw    $0, 6(%eax)
    movl    $0, 8(%eax)
    movl    12(%esp), %ecx
    movl    %ecx, 12(%eax)
    movl    16(%esp), %ecx
    movl    %ecx, 16(%eax)
    movl    $0, 20(%eax)
    call    .Lpc_thunk
.Lpc:
    addl    $coro_arch_trampoline - .Lpc, %ecx
    movl    %ecx, 24(%eax)
    ret
    .cfi_endproc
    END_FUNCTION coro_arch_make

/* Returns its own return address in ecx. A call/ret pair rather than a
 * call followed by a pop keeps the processor's return-address stack
 * balanced. */
    .type   .Lpc_thunk, @function
.Lpc_thunk:
    .cfi_startproc
    movl    (%esp), %ecx
    ret
    .cfi_endproc
    .size   .Lpc_thunk, .-.Lpc_thunk

/*
 * The first switch into a coroutine jumps here with the value in eax, start
 * in esi and arg in ebx, and esp 16-byte aligned. The undefined return
 * address ends every walk here: gdb's, and libgcc's, under glibc's
 * backtrace() too.
 */
    .p2align 4
    LOCAL_FUNCTION coro_arch_trampoline
    .cfi_startproc
    .cfi_undefined %eip
    /* Two argument words and 8 bytes of padding: esp is 16-aligned at the
     * call. */
    subl    $8, %esp
    .cfi_adjust_cfa_offset 8
    pushl   %ebx
    .cfi_adjust_cfa_offset 4
    pushl   %eax
    .cfi_adjust_cfa_offset 4
    call    *%esi
    ud2
    .cfi_endproc
    END_FUNCTION coro_arch_trampoline

    .section .note.GNU-stack, "", %progbits
