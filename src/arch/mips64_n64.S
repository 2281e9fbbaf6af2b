/*
 * Context switch for 64-bit MIPS, n64 ABI, hard float (Debian's mips64el)
 * on Linux. As x86_64_sysv.S, except:
 *  - the return address arrives in ra: the switch stores it in its frame
 *    with the saved registers and returns through it with `jr ra` (the
 *    x86 pop-and-jump was measured on x86 only);
 *  - gp is callee-saved in n64 and is part of a suspended frame;
 *  - the FP control state saved is the FCSR's control bits (policy below);
 *  - start is called through t9, as the n64 PIC calling sequence requires,
 *    and make finds the trampoline's address with a `bal` to the next
 *    instruction (no GOT entry, no dependence on the caller's gp or t9).
 *
 * ABI facts this file relies on: the n64 ABI as the "MIPSpro N32 ABI
 * Handbook" (SGI, chapter 2 "Calling Convention Implementations", table 2-1
 * "N32 and Native 64-Bit Integer Register Usage", table 2-2 "Floating-Point
 * Register Usage") and the "64-bit ELF Object File Specification" describe
 * it, which GCC follows for -mabi=64:
 *   integer registers: s0-s7 ($16-$23), gp ($28), sp ($29) and s8/fp ($30)
 *     are callee-saved; ra ($31) holds the return address; t9 ($25) holds
 *     the address of the called function at entry of any PIC (abicalls)
 *     function, which computes its gp from it; a0-a7 carry arguments and v0
 *     the result.
 *   floating point: under n64 (always FR=1, 32 registers of 64 bits),
 *     $f24-$f31, even and odd, are callee-saved; the rest are scratch.
 *   the stack pointer is 16-byte aligned at every call; n64 has no argument
 *     save area that a caller must reserve.
 *
 * void *coro_arch_switch(void **save_sp, void *load_sp, void *value);
 *                        a0               a1             a2    -> v0
 * void *coro_arch_make(void *stack_top, void *stack_bottom,
 *                      a0               a1 (unused)
 *                      coro_arch_start_fn start, void *arg);
 *                      a2                        a3        -> v0
 *
 * A suspended frame, at the saved stack pointer (CORO_ARCH_FRAME_SIZE = 160):
 *
 *   offset    switch saved                 a fresh frame from make holds
 *   +96..152  $f24..$f31 (f24 at +96)      0
 *   +88       FCSR (4 bytes), 4 unused     FCSR of make's caller
 *   +32..80   s1..s7 (s1 at +32)           s1 = arg, others 0
 *   +24       s0                           start
 *   +16       gp                           gp of make's caller
 *   +8        s8/fp                        0 (ends frame-pointer walks)
 *   +0        ra, the return address       coro_arch_trampoline
 *
 * FCSR policy. The ABI documents say nothing of the FCSR; libcoro keeps
 * the FP control state per context on every ABI (see aarch64.S), so a
 * coroutine's fesetround() does not leak into the context it switches to:
 *  - the control bits, RM (rounding, 0-1), the exception enables (7-11)
 *    and FS (flush to zero, 24), belong to each context, and are written
 *    only when the target's differ (a read is cheap, a write may stall);
 *  - the flags (2-6) belong to the thread and are never saved: a flag
 *    raised anywhere stays raised, as on riscv64;
 *  - the cause bits (12-17) describe the last instruction only; a write
 *    clears them, since writing a cause bit whose enable is set would
 *    raise the exception at once.
 */
#include "../arch.h"
#include "asm.h"

#if !defined(_MIPS_SIM) || _MIPS_SIM != _ABI64
#error "mips64_n64.S: the n64 ABI (-mabi=64) only"
#endif
#if !defined(__mips_hard_float)
#error "mips64_n64.S: hard float only"
#endif
#if CORO_ARCH_FRAME_SIZE != 160
#error "mips64_n64.S: CORO_ARCH_FRAME_SIZE does not match the frame drawn above"
#endif

#define FCSR_SLOT 88
#define F_SLOTS 96
#define FCSR_CONTROL 0x01000f83
#define FCSR_CAUSE 0x0003f000

    .text

    .ent    coro_arch_switch
    .p2align 3
    FUNCTION coro_arch_switch
    .cfi_startproc
    daddiu  $sp, $sp, -CORO_ARCH_FRAME_SIZE
    .cfi_adjust_cfa_offset CORO_ARCH_FRAME_SIZE
    sd      $ra, 0($sp)
    .cfi_rel_offset $31, 0
    sd      $fp, 8($sp)
    .cfi_rel_offset $30, 8
    sd      $gp, 16($sp)
    .cfi_rel_offset $28, 16
    sd      $s0, 24($sp)
    .cfi_rel_offset $16, 24
    sd      $s1, 32($sp)
    .cfi_rel_offset $17, 32
    sd      $s2, 40($sp)
    .cfi_rel_offset $18, 40
    sd      $s3, 48($sp)
    .cfi_rel_offset $19, 48
    sd      $s4, 56($sp)
    .cfi_rel_offset $20, 56
    sd      $s5, 64($sp)
    .cfi_rel_offset $21, 64
    sd      $s6, 72($sp)
    .cfi_rel_offset $22, 72
    sd      $s7, 80($sp)
    .cfi_rel_offset $23, 80
    cfc1    $t0, $31
    sw      $t0, FCSR_SLOT($sp)
    /* DWARF numbers the FP registers from 32: $f24 is 56. */
    sdc1    $f24, F_SLOTS + 0($sp)
    .cfi_rel_offset 56, F_SLOTS + 0
    sdc1    $f25, F_SLOTS + 8($sp)
    .cfi_rel_offset 57, F_SLOTS + 8
    sdc1    $f26, F_SLOTS + 16($sp)
    .cfi_rel_offset 58, F_SLOTS + 16
    sdc1    $f27, F_SLOTS + 24($sp)
    .cfi_rel_offset 59, F_SLOTS + 24
    sdc1    $f28, F_SLOTS + 32($sp)
    .cfi_rel_offset 60, F_SLOTS + 32
    sdc1    $f29, F_SLOTS + 40($sp)
    .cfi_rel_offset 61, F_SLOTS + 40
    sdc1    $f30, F_SLOTS + 48($sp)
    .cfi_rel_offset 62, F_SLOTS + 48
    sdc1    $f31, F_SLOTS + 56($sp)
    .cfi_rel_offset 63, F_SLOTS + 56

    /* Both stacks hold a frame of the same shape, so the CFI above stays
     * true after the stack pointer changes. */
    sd      $sp, 0($a0)
    move    $sp, $a1

    /* Loaded first so that the compare below does not wait for it. */
    lw      $t1, FCSR_SLOT($sp)
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
    ldc1    $f24, F_SLOTS + 0($sp)
    ldc1    $f25, F_SLOTS + 8($sp)
    ldc1    $f26, F_SLOTS + 16($sp)
    ldc1    $f27, F_SLOTS + 24($sp)
    ldc1    $f28, F_SLOTS + 32($sp)
    ldc1    $f29, F_SLOTS + 40($sp)
    ldc1    $f30, F_SLOTS + 48($sp)
    ldc1    $f31, F_SLOTS + 56($sp)
    /* t0 still holds the FCSR this thread runs with now. */
    li      $t3, FCSR_CONTROL
    xor     $t2, $t0, $t1
    and     $t2, $t2, $t3
    beqz    $t2, 1f
    and     $t1, $t1, $t3
    li      $t3, ~(FCSR_CONTROL | FCSR_CAUSE)
    and     $t0, $t0, $t3
    or      $t0, $t0, $t1
    ctc1    $t0, $31
1:
    daddiu  $sp, $sp, CORO_ARCH_FRAME_SIZE
    .cfi_adjust_cfa_offset -CORO_ARCH_FRAME_SIZE
    move    $v0, $a2
    jr      $ra
    .cfi_endproc
    .end    coro_arch_switch
    END_FUNCTION coro_arch_switch

    .ent    coro_arch_make
    .p2align 3
    FUNCTION coro_arch_make
    .cfi_startproc
    /* The trampoline runs once the frame is popped, with sp at the 16-byte
     * boundary the frame sits just below: that is the sp start is called
     * with. */
    li      $t0, -16
    and     $a0, $a0, $t0
    daddiu  $v0, $a0, -CORO_ARCH_FRAME_SIZE
    /* bal leaves the address of .Lhere in ra; the trampoline's address is
     * a fixed distance from it. */
    move    $t1, $ra
    .cfi_register $31, $13
    .set    push
    .set    noreorder
    bal     .Lhere
    nop
.Lhere:
    .set    pop
    daddiu  $t0, $ra, coro_arch_trampoline - .Lhere
    move    $ra, $t1
    .cfi_restore $31
    sd      $t0, 0($v0)
    sd      $zero, 8($v0)
    sd      $gp, 16($v0)
    sd      $a2, 24($v0)
    sd      $a3, 32($v0)
    sd      $zero, 40($v0)
    sd      $zero, 48($v0)
    sd      $zero, 56($v0)
    sd      $zero, 64($v0)
    sd      $zero, 72($v0)
    sd      $zero, 80($v0)
    cfc1    $t0, $31
    sw      $t0, FCSR_SLOT($v0)
    sw      $zero, FCSR_SLOT + 4($v0)
    sd      $zero, F_SLOTS + 0($v0)
    sd      $zero, F_SLOTS + 8($v0)
    sd      $zero, F_SLOTS + 16($v0)
    sd      $zero, F_SLOTS + 24($v0)
    sd      $zero, F_SLOTS + 32($v0)
    sd      $zero, F_SLOTS + 40($v0)
    sd      $zero, F_SLOTS + 48($v0)
    sd      $zero, F_SLOTS + 56($v0)
    jr      $ra
    .cfi_endproc
    .end    coro_arch_make
    END_FUNCTION coro_arch_make

/*
 * The first switch into a coroutine returns here with the value in v0,
 * start in s0 and arg in s1. start gets its own address in t9, from which
 * its PIC prologue computes its gp. The undefined return address ends the
 * coroutine's stack here for gdb and for glibc's backtrace() (which walks
 * with the DWARF unwinder).
 */
    .ent    coro_arch_trampoline
    .p2align 3
    LOCAL_FUNCTION coro_arch_trampoline
    .cfi_startproc
    .cfi_undefined $31
    move    $a0, $v0
    move    $a1, $s1
    move    $t9, $s0
    jalr    $t9
    break
    .cfi_endproc
    .end    coro_arch_trampoline
    END_FUNCTION coro_arch_trampoline

    .section .note.GNU-stack, "", %progbits
