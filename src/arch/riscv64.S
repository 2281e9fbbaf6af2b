/*
 * Context switch for RISC-V 64 (LP64D, also LP64F and LP64) on Linux. As
 * x86_64_sysv.S, except:
 *  - the return address arrives in ra, not on the stack: the switch stores it
 *    in its frame with the saved registers and returns through it;
 *  - the FP control state saved is frm alone (the fcsr policy below);
 *  - the value reaches the trampoline in a0, already where start wants it;
 *  - returning uses a plain `ret` (see "Returning" below).
 *
 * ABI facts this file relies on (RISC-V ELF psABI 1.0, chapter "RISC-V
 * Calling Conventions"):
 *   "Integer Register Convention": sp and s0-s11 are preserved across calls;
 *     ra is not, but it is where this switch returns to, so it is part of a
 *     suspended frame. gp and tp are never changed by any procedure, so the
 *     switch leaves them alone.
 *   "Floating-point Register Convention": fs0-fs11 are preserved, as far as
 *     they hold values no wider than ABI_FLEN. They are saved at the full
 *     hardware width (__riscv_flen), which covers every ABI_FLEN up to it, and
 *     whenever the F extension is there: an LP64 (soft-float ABI) build on F/D
 *     hardware keeps a frame of the same shape. "The Floating-Point Control
 *     and Status Register (fcsr) must have thread storage duration in
 *     accordance with C11 section 7.6" (see the fcsr policy below).
 *   "Integer Calling Convention": the stack pointer is aligned to 16 bytes
 *     (128 bits) at procedure entry and throughout a procedure.
 *
 * void *coro_arch_switch(void **save_sp, void *load_sp, void *value);
 *                        a0               a1             a2    -> a0
 * void *coro_arch_make(void *stack_top, void *stack_bottom,
 *                      a0               a1 (unused)
 *                      coro_arch_start_fn start, void *arg);
 *                      a2                        a3        -> a0
 *
 * A suspended frame, at the saved stack pointer (CORO_ARCH_FRAME_SIZE = 208
 * with the F extension, 112 without: the part from +104 up is then absent but
 * for 8 bytes of padding that keep sp 16-aligned):
 *
 *   offset    switch saved                 a fresh frame from make holds
 *   +112..200 fs0..fs11 (fs0 at +112)      0
 *   +104      frm (fcsr bits 5-7)          frm of make's caller
 *   +32..96   s3..s11 (s3 at +32)          0
 *   +24       s2                           arg
 *   +16       s1                           start
 *   +8        s0                           0 (ends frame-pointer walks)
 *   +0        ra, the return address       coro_arch_trampoline
 *
 * fcsr policy. C11 7.6 gives the floating-point environment thread storage
 * duration and asks that "a function call does not alter its caller's
 * floating-point control modes, clear its caller's floating-point status
 * flags, nor depend on the state of its caller's floating-point status
 * flags". Seen from each side a switch is a call, so:
 *  - frm (the rounding mode, the one control mode) belongs to each context:
 *    it is saved with the frame and restored, like x86's MXCSR control bits,
 *    and as there rewritten only when the target's differs: the mode almost
 *    never differs between contexts, and a CSR write may serialise the
 *    pipeline where a read and a compare do not.
 *  - fflags (the accrued exception flags) belong to the thread and are never
 *    saved or written: a flag raised anywhere stays raised for whoever looks
 *    next on that thread, until fenv code clears it, which a switch never
 *    does.
 *
 * Returning. The switch returns with `ret` through the target's ra. x86's
 * pop-and-jump variant is not copied: its gain was measured on x86 only, and
 * an emulator says nothing about a RISC-V core's return-address stack.
 */
#include "../arch.h"

#if defined(__riscv_flen)
#if __riscv_flen == 64
#define FP_SAVE fsd
#define FP_LOAD fld
#elif __riscv_flen == 32
#define FP_SAVE fsw
#define FP_LOAD flw
#else
#error "riscv64.S: only 32- and 64-bit floating-point registers are supported"
#endif
#if CORO_ARCH_FRAME_SIZE != 208
#error "riscv64.S: CORO_ARCH_FRAME_SIZE does not match the frame drawn above"
#endif
#elif CORO_ARCH_FRAME_SIZE != 112
#error "riscv64.S: CORO_ARCH_FRAME_SIZE does not match the frame drawn above"
#endif

#define FRM_SLOT 104
#define FS_SLOTS 112

    .text

    .globl  coro_arch_switch
    .hidden coro_arch_switch
    .type   coro_arch_switch, @function
    .p2align 2
coro_arch_switch:
    .cfi_startproc
    addi    sp, sp, -CORO_ARCH_FRAME_SIZE
    .cfi_adjust_cfa_offset CORO_ARCH_FRAME_SIZE
    sd      ra, 0(sp)
    .cfi_rel_offset ra, 0
    sd      s0, 8(sp)
    .cfi_rel_offset s0, 8
    sd      s1, 16(sp)
    .cfi_rel_offset s1, 16
    sd      s2, 24(sp)
    .cfi_rel_offset s2, 24
    sd      s3, 32(sp)
    .cfi_rel_offset s3, 32
    sd      s4, 40(sp)
    .cfi_rel_offset s4, 40
    sd      s5, 48(sp)
    .cfi_rel_offset s5, 48
    sd      s6, 56(sp)
    .cfi_rel_offset s6, 56
    sd      s7, 64(sp)
    .cfi_rel_offset s7, 64
    sd      s8, 72(sp)
    .cfi_rel_offset s8, 72
    sd      s9, 80(sp)
    .cfi_rel_offset s9, 80
    sd      s10, 88(sp)
    .cfi_rel_offset s10, 88
    sd      s11, 96(sp)
    .cfi_rel_offset s11, 96
#if defined(__riscv_flen)
    frrm    t0
    sd      t0, FRM_SLOT(sp)
    FP_SAVE fs0, FS_SLOTS + 0(sp)
    .cfi_rel_offset fs0, FS_SLOTS + 0
    FP_SAVE fs1, FS_SLOTS + 8(sp)
    .cfi_rel_offset fs1, FS_SLOTS + 8
    FP_SAVE fs2, FS_SLOTS + 16(sp)
    .cfi_rel_offset fs2, FS_SLOTS + 16
    FP_SAVE fs3, FS_SLOTS + 24(sp)
    .cfi_rel_offset fs3, FS_SLOTS + 24
    FP_SAVE fs4, FS_SLOTS + 32(sp)
    .cfi_rel_offset fs4, FS_SLOTS + 32
    FP_SAVE fs5, FS_SLOTS + 40(sp)
    .cfi_rel_offset fs5, FS_SLOTS + 40
    FP_SAVE fs6, FS_SLOTS + 48(sp)
    .cfi_rel_offset fs6, FS_SLOTS + 48
    FP_SAVE fs7, FS_SLOTS + 56(sp)
    .cfi_rel_offset fs7, FS_SLOTS + 56
    FP_SAVE fs8, FS_SLOTS + 64(sp)
    .cfi_rel_offset fs8, FS_SLOTS + 64
    FP_SAVE fs9, FS_SLOTS + 72(sp)
    .cfi_rel_offset fs9, FS_SLOTS + 72
    FP_SAVE fs10, FS_SLOTS + 80(sp)
    .cfi_rel_offset fs10, FS_SLOTS + 80
    FP_SAVE fs11, FS_SLOTS + 88(sp)
    .cfi_rel_offset fs11, FS_SLOTS + 88
#endif

    /* Both stacks hold a frame of the same shape, so the CFI above stays
     * true after the stack pointer changes. */
    sd      sp, 0(a0)
    mv      sp, a1

#if defined(__riscv_flen)
    /* Loaded first so that the compare below does not wait for it. */
    ld      t1, FRM_SLOT(sp)
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
#if defined(__riscv_flen)
    FP_LOAD fs0, FS_SLOTS + 0(sp)
    FP_LOAD fs1, FS_SLOTS + 8(sp)
    FP_LOAD fs2, FS_SLOTS + 16(sp)
    FP_LOAD fs3, FS_SLOTS + 24(sp)
    FP_LOAD fs4, FS_SLOTS + 32(sp)
    FP_LOAD fs5, FS_SLOTS + 40(sp)
    FP_LOAD fs6, FS_SLOTS + 48(sp)
    FP_LOAD fs7, FS_SLOTS + 56(sp)
    FP_LOAD fs8, FS_SLOTS + 64(sp)
    FP_LOAD fs9, FS_SLOTS + 72(sp)
    FP_LOAD fs10, FS_SLOTS + 80(sp)
    FP_LOAD fs11, FS_SLOTS + 88(sp)
    /* t0 still holds the frm this thread runs with now. */
    beq     t0, t1, 1f
    fsrm    t1
1:
#endif
    addi    sp, sp, CORO_ARCH_FRAME_SIZE
    .cfi_adjust_cfa_offset -CORO_ARCH_FRAME_SIZE
    mv      a0, a2
    ret
    .cfi_endproc
    .size   coro_arch_switch, .-coro_arch_switch

    .globl  coro_arch_make
    .hidden coro_arch_make
    .type   coro_arch_make, @function
    .p2align 2
coro_arch_make:
    .cfi_startproc
    /* The trampoline runs once the frame is popped, with sp at the 16-byte
     * boundary the frame sits just below: that is the sp start is called
     * with. */
    andi    a0, a0, -16
    addi    a0, a0, -CORO_ARCH_FRAME_SIZE
    lla     t0, coro_arch_trampoline
    sd      t0, 0(a0)
    sd      zero, 8(a0)
    sd      a2, 16(a0)
    sd      a3, 24(a0)
    sd      zero, 32(a0)
    sd      zero, 40(a0)
    sd      zero, 48(a0)
    sd      zero, 56(a0)
    sd      zero, 64(a0)
    sd      zero, 72(a0)
    sd      zero, 80(a0)
    sd      zero, 88(a0)
    sd      zero, 96(a0)
#if defined(__riscv_flen)
    frrm    t0
    sd      t0, FRM_SLOT(a0)
    sd      zero, FS_SLOTS + 0(a0)
    sd      zero, FS_SLOTS + 8(a0)
    sd      zero, FS_SLOTS + 16(a0)
    sd      zero, FS_SLOTS + 24(a0)
    sd      zero, FS_SLOTS + 32(a0)
    sd      zero, FS_SLOTS + 40(a0)
    sd      zero, FS_SLOTS + 48(a0)
    sd      zero, FS_SLOTS + 56(a0)
    sd      zero, FS_SLOTS + 64(a0)
    sd      zero, FS_SLOTS + 72(a0)
    sd      zero, FS_SLOTS + 80(a0)
    sd      zero, FS_SLOTS + 88(a0)
#endif
    ret
    .cfi_endproc
    .size   coro_arch_make, .-coro_arch_make

/*
 * The first switch into a coroutine returns here with the value in a0,
 * start in s1 and arg (the coroutine's control block) in s2.
 *
 * Unwinding past the root, as in x86_64_sysv.S (read its comment there):
 * the trampoline stores the control block's address at sp, and DWARF
 * expressions lead from it to the resumer's suspended frame (drawn above):
 * its ra, s0-s11 and, once popped, its sp. No resumer or no block: the
 * return address reads as 0, which ends every walk. fs0-fs11 are not
 * described (a backtrace needs none of them).
 *
 *   0x72 0x00 DW_OP_breg2 0 (sp); the other operators as in x86_64_sysv.S.
 */
#define RESUMED_VALUE(dwarf_register, slot) \
    .cfi_escape 0x16, dwarf_register, 24, \
        0x72, 0x00, 0x06, \
        0x12, 0x28, 0x03, 0x00, 0x2f, 14, 0x00, \
        0x23, CORO_ARCH_RESUMER_OFFSET, 0x06, \
        0x12, 0x28, 0x03, 0x00, 0x2f, 4, 0x00, \
        0x06, 0x23, slot, 0x06

/* DW_OP_plus_uconst CORO_ARCH_FRAME_SIZE, its operand in ULEB128. */
#if CORO_ARCH_FRAME_SIZE == 208
#define PLUS_FRAME_SIZE 0x23, 0xd0, 0x01
#define PLUS_FRAME_SIZE_BYTES 3
#elif CORO_ARCH_FRAME_SIZE == 112
#define PLUS_FRAME_SIZE 0x23, 0x70
#define PLUS_FRAME_SIZE_BYTES 2
#endif

    .type   coro_arch_trampoline, @function
    .p2align 2
coro_arch_trampoline:
    .cfi_startproc
    .cfi_undefined ra
    /* 16 bytes: the call below needs sp 16-aligned (psABI, "Integer
     * Calling Convention"), as the frame left it. */
    addi    sp, sp, -16
    sd      s2, 0(sp)
    /* The CFA: the resumer's sp once its frame is popped; else sp + 16. */
    .cfi_escape 0x0f, 27 + PLUS_FRAME_SIZE_BYTES, \
        0x72, 0x00, 0x06, \
        0x12, 0x28, 0x03, 0x00, 0x2f, 14 + PLUS_FRAME_SIZE_BYTES, 0x00, \
        0x23, CORO_ARCH_RESUMER_OFFSET, 0x06, \
        0x12, 0x28, 0x03, 0x00, 0x2f, 4 + PLUS_FRAME_SIZE_BYTES, 0x00, \
        0x06, PLUS_FRAME_SIZE, \
        0x2f, 3, 0x00, \
        0x13, 0x72, 16
    RESUMED_VALUE(1, 0)     /* ra: the return address */
    RESUMED_VALUE(8, 8)     /* s0 */
    RESUMED_VALUE(9, 16)    /* s1 */
    RESUMED_VALUE(18, 24)   /* s2 */
    RESUMED_VALUE(19, 32)   /* s3 */
    RESUMED_VALUE(20, 40)   /* s4 */
    RESUMED_VALUE(21, 48)   /* s5 */
    RESUMED_VALUE(22, 56)   /* s6 */
    RESUMED_VALUE(23, 64)   /* s7 */
    RESUMED_VALUE(24, 72)   /* s8 */
    RESUMED_VALUE(25, 80)   /* s9 */
    RESUMED_VALUE(26, 88)   /* s10 */
    RESUMED_VALUE(27, 96)   /* s11 */
    mv      a1, s2
    jalr    s1
    unimp
    .cfi_endproc
    .size   coro_arch_trampoline, .-coro_arch_trampoline

    .section .note.GNU-stack, "", @progbits
