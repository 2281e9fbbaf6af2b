/*
 * Context switch for x86-64 Windows: as x86_64_sysv.S, except for what the
 * Microsoft x64 ABI and the Windows thread block change.
 *
 * ABI facts this file relies on (Microsoft Learn, "x64 calling convention"
 * and "x64 software conventions"):
 *   "Callee-saved/nonvolatile registers": rbx, rbp, rdi, rsi, rsp, r12-r15
 *     and xmm6-xmm15 (all 128 bits; the upper halves of ymm are volatile).
 *   "MxCsr": bits 0-5 are volatile status flags, bits 6-15 nonvolatile.
 *   "FpCsr": the x87 control word is nonvolatile.
 *   "Parameter passing": arguments in rcx, rdx, r8, r9; the caller always
 *     reserves 32 bytes of shadow space above the return address, and rsp
 *     is a multiple of 16 at the call.
 *   "x64 exception handling": every function that moves rsp has unwind
 *     data (.pdata/.xdata, emitted here by the .seh_* directives).
 *
 * void *coro_arch_switch(void **save_sp, void *load_sp, void *value);
 *                        rcx              rdx            r8     -> rax
 * void *coro_arch_make(void *stack_top, void *stack_bottom,
 *                      rcx              rdx
 *                      coro_arch_start_fn start, void *arg);
 *                      r8                        r9         -> rax
 *
 * What differs from System V:
 *  - Four more integer registers (rdi, rsi) and ten xmm registers to keep.
 *  - The thread environment block (gs:0) says where the running stack is.
 *    Exception dispatch stops at frames outside [StackLimit, StackBase],
 *    and MSVC's __chkstk probes below StackLimit only; so the four fields
 *    that describe the stack (offsets in arch.h) travel with the stack.
 *  - A fresh coroutine gets StackBase just above the trampoline's fake
 *    return address, StackLimit = DeallocationStack = stack_bottom (its
 *    whole stack is committed, see stack_win32.c), and no guarantee;
 *    coro_arch_set_guarantee() then gives a stack with a dispatch reserve
 *    (stack.h) a lower DeallocationStack and a guarantee.
 *
 * A suspended frame, at the saved stack pointer (CORO_ARCH_FRAME_SIZE = 272;
 * the saved stack pointer is a multiple of 16, so the xmm slots are aligned):
 *
 *   offset  switch saved                 a fresh frame from make holds
 *   +264    return address               coro_arch_trampoline
 *   +256    rbp                          0
 *   +248    rbx                          arg
 *   +240    rdi                          0
 *   +232    rsi                          0
 *   +224    r12                          start
 *   +216    r13                          0
 *   +208    r14                          0
 *   +200    r15                          0
 *   +192    GuaranteedStackBytes (32 bits, zero-extended)     0
 *   +184    DeallocationStack            stack_bottom
 *   +176    StackLimit                   stack_bottom
 *   +168    StackBase                    top - 8 (see the trampoline)
 *   +160    MXCSR (4), x87 CW (2), 2 bytes unused
 *                                        MXCSR and CW of make's caller
 *   +0      xmm6 ... xmm15, 16 bytes each 0
 *
 * Above a fresh frame (top = stack_top rounded down to 16): top - 16 holds
 * the trampoline's fake return address 0, top - 8 is padding.
 *
 * Unwind data: the switch's prologue is described exactly, so a debugger
 * stopped inside it can walk out; once rsp has moved, the frame it reads
 * has the same shape on the other stack. The pop/jmp exit is no canonical
 * epilogue, so an asynchronous stack walk (a sampling profiler) in those
 * few instructions may misread them; nothing synchronous can happen there.
 */
#include "../arch.h"

#define FRAME_XMM 0
#define FRAME_FP_CONTROL 160
#define FRAME_STACK_BASE 168
#define FRAME_STACK_LIMIT 176
#define FRAME_DEALLOCATION_STACK 184
#define FRAME_GUARANTEED_STACK_BYTES 192
#define FRAME_LOCALS 200 /* bytes below the eight pushed registers */

    .text

    .globl  coro_arch_switch
    .def    coro_arch_switch; .scl 2; .type 32; .endef
    .p2align 4
coro_arch_switch:
    .seh_proc coro_arch_switch
    pushq   %rbp
    .seh_pushreg %rbp
    pushq   %rbx
    .seh_pushreg %rbx
    pushq   %rdi
    .seh_pushreg %rdi
    pushq   %rsi
    .seh_pushreg %rsi
    pushq   %r12
    .seh_pushreg %r12
    pushq   %r13
    .seh_pushreg %r13
    pushq   %r14
    .seh_pushreg %r14
    pushq   %r15
    .seh_pushreg %r15
    subq    $FRAME_LOCALS, %rsp
    .seh_stackalloc FRAME_LOCALS
    movaps  %xmm6, 0(%rsp)
    .seh_savexmm %xmm6, 0
    movaps  %xmm7, 16(%rsp)
    .seh_savexmm %xmm7, 16
    movaps  %xmm8, 32(%rsp)
    .seh_savexmm %xmm8, 32
    movaps  %xmm9, 48(%rsp)
    .seh_savexmm %xmm9, 48
    movaps  %xmm10, 64(%rsp)
    .seh_savexmm %xmm10, 64
    movaps  %xmm11, 80(%rsp)
    .seh_savexmm %xmm11, 80
    movaps  %xmm12, 96(%rsp)
    .seh_savexmm %xmm12, 96
    movaps  %xmm13, 112(%rsp)
    .seh_savexmm %xmm13, 112
    movaps  %xmm14, 128(%rsp)
    .seh_savexmm %xmm14, 128
    movaps  %xmm15, 144(%rsp)
    .seh_savexmm %xmm15, 144
    .seh_endprologue
    stmxcsr FRAME_FP_CONTROL(%rsp)
    fnstcw  FRAME_FP_CONTROL+4(%rsp)
    movq    %gs:CORO_TEB_STACK_BASE, %rax
    movq    %rax, FRAME_STACK_BASE(%rsp)
    movq    %gs:CORO_TEB_STACK_LIMIT, %rax
    movq    %rax, FRAME_STACK_LIMIT(%rsp)
    movq    %gs:CORO_TEB_DEALLOCATION_STACK, %rax
    movq    %rax, FRAME_DEALLOCATION_STACK(%rsp)
    movl    %gs:CORO_TEB_GUARANTEED_STACK_BYTES, %eax
    movq    %rax, FRAME_GUARANTEED_STACK_BYTES(%rsp)

    movq    %rsp, (%rcx)
    movzwl  FRAME_FP_CONTROL+4(%rsp), %r9d
    movq    %rdx, %rsp

    /* As in x86_64_sysv.S ("Speed"): MXCSR is reloaded always, the x87
     * control word only when it differs. */
    ldmxcsr FRAME_FP_CONTROL(%rsp)
    cmpw    FRAME_FP_CONTROL+4(%rsp), %r9w
    jne     .Lreload_x87_control_word
.Lrestore:
    movq    FRAME_STACK_BASE(%rsp), %rax
    movq    %rax, %gs:CORO_TEB_STACK_BASE
    movq    FRAME_STACK_LIMIT(%rsp), %rax
    movq    %rax, %gs:CORO_TEB_STACK_LIMIT
    movq    FRAME_DEALLOCATION_STACK(%rsp), %rax
    movq    %rax, %gs:CORO_TEB_DEALLOCATION_STACK
    movl    FRAME_GUARANTEED_STACK_BYTES(%rsp), %eax
    movl    %eax, %gs:CORO_TEB_GUARANTEED_STACK_BYTES
    movaps  0(%rsp), %xmm6
    movaps  16(%rsp), %xmm7
    movaps  32(%rsp), %xmm8
    movaps  48(%rsp), %xmm9
    movaps  64(%rsp), %xmm10
    movaps  80(%rsp), %xmm11
    movaps  96(%rsp), %xmm12
    movaps  112(%rsp), %xmm13
    movaps  128(%rsp), %xmm14
    movaps  144(%rsp), %xmm15
    addq    $FRAME_LOCALS, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rsi
    popq    %rdi
    popq    %rbx
    popq    %rbp
    popq    %rcx
    movq    %r8, %rax
    jmp     *%rcx

.Lreload_x87_control_word:
    fldcw   FRAME_FP_CONTROL+4(%rsp)
    jmp     .Lrestore
    .seh_endproc

/* A leaf that never moves rsp: it needs no unwind data. */
    .globl  coro_arch_make
    .def    coro_arch_make; .scl 2; .type 32; .endef
    .p2align 4
coro_arch_make:
    movq    %rcx, %rax
    andq    $-16, %rax
    leaq    -8(%rax), %r10                  /* StackBase, see the trampoline */
    subq    $16 + CORO_ARCH_FRAME_SIZE, %rax
    movq    $0, CORO_ARCH_FRAME_SIZE(%rax)  /* the trampoline's return address */
    movq    $0, CORO_ARCH_FRAME_SIZE+8(%rax)
    xorps   %xmm0, %xmm0
    movaps  %xmm0, 0(%rax)
    movaps  %xmm0, 16(%rax)
    movaps  %xmm0, 32(%rax)
    movaps  %xmm0, 48(%rax)
    movaps  %xmm0, 64(%rax)
    movaps  %xmm0, 80(%rax)
    movaps  %xmm0, 96(%rax)
    movaps  %xmm0, 112(%rax)
    movaps  %xmm0, 128(%rax)
    movaps  %xmm0, 144(%rax)
    stmxcsr FRAME_FP_CONTROL(%rax)
    fnstcw  FRAME_FP_CONTROL+4(%rax)
    movw    $0, FRAME_FP_CONTROL+6(%rax)
    movq    %r10, FRAME_STACK_BASE(%rax)
    movq    %rdx, FRAME_STACK_LIMIT(%rax)
    movq    %rdx, FRAME_DEALLOCATION_STACK(%rax)
    movq    $0, FRAME_GUARANTEED_STACK_BYTES(%rax)
    movq    $0, 200(%rax)                   /* r15 */
    movq    $0, 208(%rax)                   /* r14 */
    movq    $0, 216(%rax)                   /* r13 */
    movq    %r8, 224(%rax)                  /* r12: start */
    movq    $0, 232(%rax)                   /* rsi */
    movq    $0, 240(%rax)                   /* rdi */
    movq    %r9, 248(%rax)                  /* rbx: arg */
    movq    $0, 256(%rax)                   /* rbp */
    leaq    coro_arch_trampoline(%rip), %rcx
    movq    %rcx, 264(%rax)
    ret

/*
 * void coro_arch_set_guarantee(void *sp, void *deallocation_stack, uint32_t guaranteed);
 *                              rcx       rdx                       r8d
 * A leaf as make: it overwrites two slots of the fresh frame make built.
 */
    .globl  coro_arch_set_guarantee
    .def    coro_arch_set_guarantee; .scl 2; .type 32; .endef
    .p2align 4
coro_arch_set_guarantee:
    movq    %rdx, FRAME_DEALLOCATION_STACK(%rcx)
    movl    %r8d, %eax                      /* zero-extends, as the switch expects */
    movq    %rax, FRAME_GUARANTEED_STACK_BYTES(%rcx)
    ret

/*
 * The first switch into a coroutine jumps here with the value in rax, start
 * in r12, arg in rbx and rsp at top - 16, a multiple of 16, where make put
 * a return address of 0. The unwind data says "32 bytes allocated below a
 * return address": unwinding out of start therefore yields rip = 0 and
 * rsp = top - 8, which is the coroutine's StackBase. Both Windows'
 * dispatcher (rsp reached StackBase) and Wine's (rsp == StackBase) stop
 * there, as at the root of a thread.
 *
 * Unwinding past the root. Unlike the DWARF ports, this trampoline's unwind
 * data cannot lead into the resumer, so every walk ends here, cleanly, also
 * in a nested coroutine (test_win64). Why ("x64 exception handling",
 * "struct UNWIND_CODE"):
 *  - Every location the unwind codes name is a fixed offset from rsp or
 *    from the one frame register (UWOP_SET_FPREG), which the unwinder takes
 *    from the context as it stands; UWOP_PUSH_MACHFRAME reads the next rsp
 *    from one fixed slot. None follows a pointer. The resumer's frame is
 *    two loads away from anything this frame holds (the control block's
 *    resumer, then that context's saved rsp), and it moves each time the
 *    resumer switches, so no static unwind data can name it.
 *  - A language-specific handler does not help: RtlVirtualUnwind, which
 *    debuggers' walks (dbghelp's StackWalk64, gdb's SEH unwinder) and
 *    RtlCaptureStackBackTrace use, never calls handlers; only exception
 *    dispatch and RtlUnwindEx do.
 *  - A machine frame whose rsp slot the library rewrote at every resume and
 *    transfer would reach it for RtlVirtualUnwind, at the price of a store
 *    on every switch; but exception dispatch rejects a frame outside
 *    [StackLimit, StackBase], which the TEB sets to the coroutine's own
 *    stack (see above), and so does any walker that checks those limits:
 *    they would still stop at the root.
 */
    .def    coro_arch_trampoline; .scl 3; .type 32; .endef
    .p2align 4
coro_arch_trampoline:
    .seh_proc coro_arch_trampoline
    subq    $32, %rsp                       /* start's shadow space */
    .seh_stackalloc 32
    .seh_endprologue
    movq    %rax, %rcx
    movq    %rbx, %rdx
    call    *%r12
    ud2
    .seh_endproc
