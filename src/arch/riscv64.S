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
#include "asm.h"

#define RESUMER_CFI_SP 0x72 /* DW_OP_breg2: sp */
#define RESUMER_CFI_POINTER 8
#include "resumer_cfi.h"

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

    .p2align 2
    FUNCTION coro_arch_switch
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
    END_FUNCTION coro_arch_switch

    .p2align 2
    FUNCTION coro_arch_make
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
    END_FUNCTION coro_arch_make

/*
 * The first switch into a coroutine returns here with the value in a0,
 * start in s1 and arg (the control block) in s2. glibc's backtrace() on
 * riscv64 walks the stack with the DWARF unwinder, as gdb does.
 *
 * Unwinding past the root, as in x86_64_sysv.S: the rules below lead both
 * from here into the resumer's suspended frame (drawn above; CFA = its saved
 * sp + CORO_ARCH_FRAME_SIZE), or, with no resumer, to a return address of 0
 * (src/arch/resumer_cfi.h). The trampoline keeps the control block and the
 * address of a frame of zeros at its sp for them; 16 bytes keep sp 16-aligned
 * for the call. DWARF numbers (psABI, "DWARF Register Numbers"): x0-x31 are
 * 0-31, f0-f31 are 32-63; s0-s1 are x8-x9, s2-s11 x18-x27, fs0-fs1 f8-f9,
 * fs2-fs11 f18-f27.
 */
    .p2align 2
    LOCAL_FUNCTION coro_arch_trampoline
    .cfi_startproc
    .cfi_undefined ra
    lla     t0, LOCAL_LABEL(no_resumer_frame)
    addi    sp, sp, -16
    sd      s2, 0(sp)
    sd      t0, 8(sp)
    RESUMER_CFI_CFA(CORO_ARCH_FRAME_SIZE, 16)
    RESUMER_CFI_SAVED(1, 0)     /* ra */
    RESUMER_CFI_SAVED(8, 8)     /* s0 */
    RESUMER_CFI_SAVED(9, 16)    /* s1 */
    RESUMER_CFI_SAVED(18, 24)   /* s2 */
    RESUMER_CFI_SAVED(19, 32)
    RESUMER_CFI_SAVED(20, 40)
    RESUMER_CFI_SAVED(21, 48)
    RESUMER_CFI_SAVED(22, 56)
    RESUMER_CFI_SAVED(23, 64)
    RESUMER_CFI_SAVED(24, 72)
    RESUMER_CFI_SAVED(25, 80)
    RESUMER_CFI_SAVED(26, 88)
    RESUMER_CFI_SAVED(27, 96)   /* s11 */
#if defined(__riscv_flen)
    RESUMER_CFI_SAVED(40, FS_SLOTS + 0)     /* fs0 */
    RESUMER_CFI_SAVED(41, FS_SLOTS + 8)     /* fs1 */
    RESUMER_CFI_SAVED(50, FS_SLOTS + 16)    /* fs2 */
    RESUMER_CFI_SAVED(51, FS_SLOTS + 24)
    RESUMER_CFI_SAVED(52, FS_SLOTS + 32)
    RESUMER_CFI_SAVED(53, FS_SLOTS + 40)
    RESUMER_CFI_SAVED(54, FS_SLOTS + 48)
    RESUMER_CFI_SAVED(55, FS_SLOTS + 56)
    RESUMER_CFI_SAVED(56, FS_SLOTS + 64)
    RESUMER_CFI_SAVED(57, FS_SLOTS + 72)
    RESUMER_CFI_SAVED(58, FS_SLOTS + 80)
    RESUMER_CFI_SAVED(59, FS_SLOTS + 88)    /* fs11 */
#endif
    mv      a1, s2
    jalr    s1
    unimp
    .cfi_endproc
    END_FUNCTION coro_arch_trampoline

/* The frame the unwind rules above read when there is no resumer. */
    .p2align 3
LOCAL_LABEL(no_resumer_frame):
    .fill   CORO_ARCH_FRAME_SIZE, 1, 0

    .section .note.GNU-stack, "", %progbits
