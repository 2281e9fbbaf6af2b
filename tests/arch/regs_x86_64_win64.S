/*
 * Test helper for test_registers, Microsoft x64 (see src/arch/x86_64_win64.S
 * for the ABI sections); as regs_x86_64_sysv.S, except for the registers.
 *
 * void regs_switch(void **save_sp, void *load_sp, void *value,
 *                  rcx              rdx            r8
 *                  const uint64_t *fill, uint64_t *seen);
 *                  r9                    [rsp + 40] at entry
 *
 * fill[] and seen[] follow regs_names in test_registers.c: rbx rbp rdi rsi
 * r12-r15, then xmm6-xmm15 as two 64-bit halves each (low first), mxcsr,
 * x87 cw, rsp (seen: the difference from before the call, which must be 0).
 *
 * Its own frame, after eight pushes and the allocation below:
 *   +0      shadow space for the call of coro_arch_switch
 *   +32     the caller's xmm6-xmm15
 *   +192    the caller's MXCSR (4) and x87 CW (2)
 *   +200    seen
 *   +208    rsp before the call
 */
#define LOCALS 216
#define SEEN_ARG (LOCALS + 8 * 8 + 40)

    .text
    .globl  regs_switch
    .def    regs_switch; .scl 2; .type 32; .endef
    .p2align 4
regs_switch:
    .seh_proc regs_switch
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
    subq    $LOCALS, %rsp
    .seh_stackalloc LOCALS
    movaps  %xmm6, 32(%rsp)
    .seh_savexmm %xmm6, 32
    movaps  %xmm7, 48(%rsp)
    .seh_savexmm %xmm7, 48
    movaps  %xmm8, 64(%rsp)
    .seh_savexmm %xmm8, 64
    movaps  %xmm9, 80(%rsp)
    .seh_savexmm %xmm9, 80
    movaps  %xmm10, 96(%rsp)
    .seh_savexmm %xmm10, 96
    movaps  %xmm11, 112(%rsp)
    .seh_savexmm %xmm11, 112
    movaps  %xmm12, 128(%rsp)
    .seh_savexmm %xmm12, 128
    movaps  %xmm13, 144(%rsp)
    .seh_savexmm %xmm13, 144
    movaps  %xmm14, 160(%rsp)
    .seh_savexmm %xmm14, 160
    movaps  %xmm15, 176(%rsp)
    .seh_savexmm %xmm15, 176
    .seh_endprologue
    stmxcsr 192(%rsp)
    fnstcw  196(%rsp)
    movq    SEEN_ARG(%rsp), %rax
    movq    %rax, 200(%rsp)
    movq    %rsp, 208(%rsp)

    movq    0(%r9), %rbx
    movq    8(%r9), %rbp
    movq    16(%r9), %rdi
    movq    24(%r9), %rsi
    movq    32(%r9), %r12
    movq    40(%r9), %r13
    movq    48(%r9), %r14
    movq    56(%r9), %r15
    movups  64(%r9), %xmm6
    movups  80(%r9), %xmm7
    movups  96(%r9), %xmm8
    movups  112(%r9), %xmm9
    movups  128(%r9), %xmm10
    movups  144(%r9), %xmm11
    movups  160(%r9), %xmm12
    movups  176(%r9), %xmm13
    movups  192(%r9), %xmm14
    movups  208(%r9), %xmm15
    ldmxcsr 224(%r9)
    fldcw   232(%r9)

    call    coro_arch_switch

    movq    200(%rsp), %r9
    movq    %rbx, 0(%r9)
    movq    %rbp, 8(%r9)
    movq    %rdi, 16(%r9)
    movq    %rsi, 24(%r9)
    movq    %r12, 32(%r9)
    movq    %r13, 40(%r9)
    movq    %r14, 48(%r9)
    movq    %r15, 56(%r9)
    movups  %xmm6, 64(%r9)
    movups  %xmm7, 80(%r9)
    movups  %xmm8, 96(%r9)
    movups  %xmm9, 112(%r9)
    movups  %xmm10, 128(%r9)
    movups  %xmm11, 144(%r9)
    movups  %xmm12, 160(%r9)
    movups  %xmm13, 176(%r9)
    movups  %xmm14, 192(%r9)
    movups  %xmm15, 208(%r9)
    movq    $0, 224(%r9)
    stmxcsr 224(%r9)
    movq    $0, 232(%r9)
    fnstcw  232(%r9)
    movq    %rsp, %rcx
    subq    208(%rsp), %rcx
    movq    %rcx, 240(%r9)

    ldmxcsr 192(%rsp)
    fldcw   196(%rsp)
    movaps  32(%rsp), %xmm6
    movaps  48(%rsp), %xmm7
    movaps  64(%rsp), %xmm8
    movaps  80(%rsp), %xmm9
    movaps  96(%rsp), %xmm10
    movaps  112(%rsp), %xmm11
    movaps  128(%rsp), %xmm12
    movaps  144(%rsp), %xmm13
    movaps  160(%rsp), %xmm14
    movaps  176(%rsp), %xmm15
    addq    $LOCALS, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rsi
    popq    %rdi
    popq    %rbx
    popq    %rbp
    ret
    .seh_endproc
