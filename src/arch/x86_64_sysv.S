/*
 * Context switch for x86-64, System V AMD64 psABI (Linux, the BSDs): the
 * reference implementation of the contract in src/arch.h. The other ports
 * say "as x86_64_sysv.S, except: ..." and explain only what differs.
 *
 * ABI facts this file relies on (System V AMD64 psABI 1.0):
 *   3.2.1, figure 3.4 "Register Usage": rbx, rbp, r12-r15 and rsp belong to
 *     the caller and must be preserved; every xmm register is scratch. "The
 *     control bits of the MXCSR register are callee-saved, while the status
 *     bits are caller-saved. The x87 status word register is caller-saved,
 *     whereas the x87 control word is callee-saved."
 *   3.2.2 "The Stack Frame": rsp + 8 is a multiple of 16 at a function's
 *     entry, i.e. rsp is a multiple of 16 just before the call.
 *
 * void *coro_arch_switch(void **save_sp, void *load_sp, void *value);
 *                        rdi             rsi            rdx   -> rax
 * void *coro_arch_make(void *stack_top, void *stack_bottom,
 *                      rdi              rsi (unused)
 *                      coro_arch_start_fn start, void *arg);
 *                      rdx                       rcx        -> rax
 *
 * A suspended frame, at the saved stack pointer (CORO_ARCH_FRAME_SIZE = 64):
 *
 *   offset  switch saved                 a fresh frame from make holds
 *   +56     return address               coro_arch_trampoline
 *   +48     rbp                          0 (ends frame-pointer walks)
 *   +40     rbx                          arg
 *   +32     r12                          start
 *   +24     r13                          0
 *   +16     r14                          0
 *   +8      r15                          0
 *   +0      MXCSR (4 bytes), x87 CW (2), 2 bytes unused
 *                                        MXCSR and CW of make's caller
 *           (the slot stays, unused, when built without FP control)
 *
 * Speed. What was measured shapes the switch:
 *  - Returning with `ret` onto the other stack mispredicts the return-stack
 *    buffer on every switch (about 6 ns); popping the return address and
 *    jumping to it predicts well. Nothing here uses a shadow stack, so the
 *    pop/jmp is safe; under IBT it is a `notrack` jump, which needs no
 *    landing pad at the call site it returns to.
 *  - Reading the FP control state costs more than loading it on the
 *    processors measured (AMD EPYC, in bench/switch_latency and a
 *    variant-by-variant test): stmxcsr and fnstcw together add about 1.2 ns
 *    a switch, ldmxcsr about 0.45 ns, fldcw about 0.25 ns, and comparing
 *    the stored MXCSR with the target's costs about 2 ns more, because a
 *    load cannot take its data from the store stmxcsr makes (no store
 *    forwarding) and waits for it to retire. fnstcw's store forwards. So
 *    both are saved, MXCSR is reloaded every time (its status flags come
 *    with it, which the ABI allows: they are the caller's), and the x87
 *    control word only when it differs.
 *  - Built with -Dfp_control=false (CORO_FP_CONTROL 0), the switch leaves
 *    the FP control state alone: all contexts of a thread share it. That
 *    breaks the ABI for code that changes the rounding mode, flush-to-zero
 *    or exception masks while coroutines run, and saves about 1.5 ns.
 */
#include "../arch.h"
#include "asm.h"

#if defined(__CET__) && (__CET__ & 1)
#define LANDING_PAD endbr64
#define NOTRACK notrack
#else
#define LANDING_PAD
#define NOTRACK
#endif

    .text

    .p2align 4
    FUNCTION coro_arch_switch
    .cfi_startproc
    LANDING_PAD
    pushq   %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbp, 0
    pushq   %rbx
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbx, 0
    pushq   %r12
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r12, 0
    pushq   %r13
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r13, 0
    pushq   %r14
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r14, 0
    pushq   %r15
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r15, 0
    subq    $8, %rsp
    .cfi_adjust_cfa_offset 8
#if CORO_FP_CONTROL
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
#endif

    /* Both stacks hold a frame of the same shape, so the CFI above stays
     * true after the stack pointer changes. */
    movq    %rsp, (%rdi)
#if CORO_FP_CONTROL
    movzwl  4(%rsp), %r9d
#endif
    movq    %rsi, %rsp
#if CORO_FP_CONTROL
    /* MXCSR is reloaded always, the x87 control word only when it differs:
     * see "Speed" above. */
    ldmxcsr (%rsp)
    cmpw    4(%rsp), %r9w
    jne     LOCAL_LABEL(reload_x87_control_word)
#endif
LOCAL_LABEL(restore):
    .cfi_remember_state
    addq    $8, %rsp
    .cfi_adjust_cfa_offset -8
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
    popq    %rcx
    .cfi_adjust_cfa_offset -8
    .cfi_register %rip, %rcx
    movq    %rdx, %rax
    NOTRACK jmp *%rcx

#if CORO_FP_CONTROL
LOCAL_LABEL(reload_x87_control_word):
    .cfi_restore_state
    fldcw   4(%rsp)
    jmp     LOCAL_LABEL(restore)
#endif
    .cfi_endproc
    END_FUNCTION coro_arch_switch

    .p2align 4
    FUNCTION coro_arch_make
    .cfi_startproc
    LANDING_PAD
    /* The trampoline's call must happen with rsp a multiple of 16 (3.2.2);
     * it runs once the 64-byte frame is popped, so the frame sits just
     * below a 16-byte boundary. */
    movq    %rdi, %rax
    andq    $-16, %rax
    subq    $64, %rax
#if CORO_FP_CONTROL
    stmxcsr (%rax)
    fnstcw  4(%rax)
#endif
    movw    $0, 6(%rax)
    movq    $0, 8(%rax)
    movq    $0, 16(%rax)
    movq    $0, 24(%rax)
    movq    %rdx, 32(%rax)
    movq    %rcx, 40(%rax)
    movq    $0, 48(%rax)
    leaq    coro_arch_trampoline(%rip), %rdx
    movq    %rdx, 56(%rax)
    ret
    .cfi_endproc
    END_FUNCTION coro_arch_make

/*
 * The first switch into a coroutine jumps here with the value in rax, start
 * in r12 and arg (the coroutine's control block) in rbx.
 *
 * Unwinding past the root. Debuggers and unwinders that walk a coroutine's
 * stack continue from here into the context that resumed it: that context
 * is suspended in coro_arch_switch, so its saved stack pointer leads to a
 * frame of the shape drawn above, holding its return address and its
 * callee-saved registers. The control block keeps the resumer at
 * CORO_ARCH_RESUMER_OFFSET and a context's saved stack pointer at offset 0
 * (src/arch.h). The trampoline pushes the control block's address, so the
 * unwind rules below can find it at the stack pointer whatever start does
 * with rbx. No resumer (a chain begun by a transfer from the thread): the
 * return address reads as 0, which ends every walk.
 *
 * The rules are DWARF expressions, written out as bytes (.cfi_escape):
 *   0x16 r n: DW_CFA_val_expression, register r's value is the n-byte
 *             expression's result; 0x0f n: DW_CFA_def_cfa_expression.
 *   0x77 k DW_OP_breg7 k (rsp + k)   0x06 DW_OP_deref   0x23 k DW_OP_plus_uconst k
 *   0x30 DW_OP_lit0   0x29 DW_OP_eq   0x2e DW_OP_ne   0x1e DW_OP_mul
 *   0x22 DW_OP_plus                  (k: one-byte values, all below 128)
 * They hold no branch and no stack operation (DW_OP_bra, DW_OP_dup): valgrind
 * evaluates only arithmetic, comparisons, register reads and loads
 * (coregrind/m_debuginfo/readdwarf.c, dwarfexpr_to_dag), and warns about
 * anything else on every run. The choice is made with arithmetic instead,
 * recomputing the resumer where it is needed:
 *   block   = *rsp (never NULL: make's arg)
 *   resumer = *(block + CORO_ARCH_RESUMER_OFFSET)
 *   frame   = *(resumer != 0 ? resumer : rsp), as resumer + (resumer == 0) * rsp:
 *             the resumer's saved stack pointer, or, with no resumer, the
 *             block (something readable, whose value is then multiplied by 0)
 *   a register's value = (resumer != 0) * *(frame + slot)
 *   the CFA = (resumer != 0) * (frame + 64) + (resumer == 0) * (rsp + 16)
 * so with no resumer the return address reads as 0.
 */
#define RESUMER 0x77, 0x00, 0x06, 0x23, CORO_ARCH_RESUMER_OFFSET, 0x06         /* 6 bytes */
#define TIMES_IF_RESUMER RESUMER, 0x30, 0x2e, 0x1e                           /* 9 bytes */
#define TIMES_IF_NO_RESUMER RESUMER, 0x30, 0x29, 0x1e                        /* 9 bytes */
#define FRAME RESUMER, RESUMER, 0x30, 0x29, 0x77, 0x00, 0x1e, 0x22, 0x06      /* 19 bytes */
#define RESUMED_VALUE(dwarf_register, slot) \
    .cfi_escape 0x16, dwarf_register, 31, FRAME, 0x23, slot, 0x06, TIMES_IF_RESUMER

    .p2align 4
    LOCAL_FUNCTION coro_arch_trampoline
    .cfi_startproc
    .cfi_undefined %rip
    LANDING_PAD
    /* Twice: the call below needs rsp 16-aligned, as the pops left it. */
    pushq   %rbx
    pushq   %rbx
    .cfi_escape 0x0f, 42, FRAME, 0x23, 64, TIMES_IF_RESUMER, \
        0x77, 16, TIMES_IF_NO_RESUMER, 0x22
    RESUMED_VALUE(16, 56)   /* return address (rip) */
    RESUMED_VALUE(6, 48)    /* rbp */
    RESUMED_VALUE(3, 40)    /* rbx */
    RESUMED_VALUE(12, 32)   /* r12 */
    RESUMED_VALUE(13, 24)   /* r13 */
    RESUMED_VALUE(14, 16)   /* r14 */
    RESUMED_VALUE(15, 8)    /* r15 */
    movq    %rax, %rdi
    movq    %rbx, %rsi
    call    *%r12
    ud2
    .cfi_endproc
    END_FUNCTION coro_arch_trampoline

#if defined(__CET__) && (__CET__ & 1) && !CORO_MACHO
/* GNU property note: this object is IBT-compatible (every indirect branch
 * target has endbr64). Shadow-stack support is not claimed: the switch
 * never touches the shadow stack. */
    .section .note.gnu.property, "a"
    .p2align 3
    .long   4                       /* name size: "GNU\0" */
    .long   16                      /* descriptor size */
    .long   5                       /* NT_GNU_PROPERTY_TYPE_0 */
    .asciz  "GNU"
    .long   0xc0000002              /* GNU_PROPERTY_X86_FEATURE_1_AND */
    .long   4
    .long   1                       /* GNU_PROPERTY_X86_FEATURE_1_IBT */
    .long   0
#endif

#if !CORO_MACHO
/* No executable stack: without this note the linker makes one. */
    .section .note.GNU-stack, "", %progbits
#endif
