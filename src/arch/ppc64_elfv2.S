/*
 * Context switch for 64-bit Power, ELF V2 ABI (ppc64le Linux). As
 * x86_64_sysv.S, except:
 *  - the return address arrives in the link register: the switch keeps it
 *    in the ABI's LR save slot of the caller's frame and returns with `blr`;
 *  - r2 (the TOC pointer) and the nonvolatile condition register fields,
 *    vector registers and VRSAVE are part of a suspended frame too;
 *  - the FP control state saved is the FPSCR's control bits (policy below);
 *  - the value reaches the trampoline in r3, already where start wants it;
 *  - unwinding stops at the coroutine's root, as on the other ports.
 *
 * ABI facts this file relies on ("64-Bit ELF V2 ABI Specification: Power
 * Architecture", OpenPOWER, revision 1.5):
 *   2.2.1.1 Register Roles: r1 (the stack pointer), r14-r31, f14-f31,
 *     v20-v31, VRSAVE and the CR fields CR2-CR4 are nonvolatile; r0, r3-r12,
 *     f0-f13, v0-v19, LR, CTR, XER, CR0, CR1 and CR5-CR7 are volatile. r13
 *     is the thread pointer, which no procedure changes: left alone. r2 is
 *     the TOC pointer, nonvolatile, which calls between modules save and
 *     restore in the caller (TOC handling below). FPSCR and VSCR are
 *     limited-access: their control bits (FPSCR VE, OE, UE, ZE, XE, NI, RN)
 *     keep the caller's value unless a function is documented to change
 *     them, as fesetround() is (2.2.1.2, Limited-Access Bits).
 *   2.2.2 The Stack Frame: r1 is 16-byte aligned and points at the back
 *     chain (the caller's r1; 0 ends the chain). The minimum frame is 32
 *     bytes: back chain at 0, CR save word at 8, LR save doubleword at 16,
 *     TOC save doubleword at 24. A callee saves LR and CR in its caller's
 *     frame, at 16 and 8 above its own entry r1.
 *   Chapter 2 "Function Prologue" and chapter 3 "Symbol Values" (the local
 *     entry point): a function called through its global entry point finds
 *     its own address in r12 and derives r2 from it; a call within the
 *     module enters at the local entry point with the caller's r2.
 *
 * void *coro_arch_switch(void **save_sp, void *load_sp, void *value);
 *                        r3               r4             r5    -> r3
 * void *coro_arch_make(void *stack_top, void *stack_bottom,
 *                      r3               r4 (unused)
 *                      coro_arch_start_fn start, void *arg);
 *                      r5                        r6         -> r3
 *
 * A suspended frame, at the saved stack pointer S (CORO_ARCH_FRAME_SIZE =
 * 560: the switch's own 528 bytes, then the 32-byte header of the frame that
 * called it):
 *
 *   offset     switch saved                 a fresh frame from make holds
 *   +552       (caller's TOC save slot: not touched)
 *   +544       LR, the return address       coro_arch_trampoline
 *   +536       CR (CR2-CR4 used), 4 unused  0
 *   +528       (caller's back chain: not touched)
 *                                           0: ends back-chain walks
 *   +384..520  r14 ... r31 (8 bytes each)   r14 = start, r15 = arg, others 0
 *   +240..376  f14 ... f31                  0
 *   +48..224   v20 ... v31 (16 bytes each)  0
 *   +40        VRSAVE (4 bytes), 4 unused   VRSAVE of make's caller
 *   +32        FPSCR (as mffs writes it)    FPSCR of make's caller
 *   +24        r2 (TOC pointer)             r2 of make's caller
 *   +8..16     (this frame's CR and LR slots: unused)
 *   +0         back chain: S + 528          S + 528
 *
 * The fresh frame's header at S + 528 is, once the switch has loaded it and
 * returned, the frame header the trampoline calls start with: r1 points at
 * it, and its back chain of 0 ends the walk that glibc's backtrace() does on
 * Power (it follows back chains and LR save slots, not DWARF).
 *
 * TOC handling. The switch saves and restores r2 per context, as if it
 * were one more nonvolatile register. Every context reaches the switch from
 * within libcoro's module (the symbol is hidden), so all of them hold the
 * same TOC and carrying it changes nothing; it keeps each suspended frame
 * complete by itself, and test_registers can prove it preserved. The switch
 * uses no TOC itself and has one entry point (its local entry is its global
 * entry). make computes its own r2 from r12 to find the trampoline; the
 * trampoline calls start with start's address in r12, so start may be
 * entered at its global entry point from anywhere.
 *
 * FPSCR policy. The control bits (VE, OE, UE, ZE, XE, NI and RN: FPSCR
 * fields 6 and 7, the low byte) belong to each context: saved with the
 * frame, and written back with `mtfsf` on those two fields alone, only when
 * the target's differ: the mode almost never differs between contexts and
 * an FPSCR write may serialise the pipeline. The status and exception flags
 * (fields 0-5) and the decimal rounding mode belong to the thread: never
 * written. VSCR (NJ, SAT) is left to the thread as well: no <fenv.h> call
 * changes it.
 */
#include "../arch.h"
#include "asm.h"

#if !defined(_CALL_ELF) || _CALL_ELF != 2
#error "ppc64_elfv2.S: this switch follows the ELF V2 ABI only"
#endif
#if CORO_ARCH_FRAME_SIZE != 560
#error "ppc64_elfv2.S: CORO_ARCH_FRAME_SIZE does not match the frame drawn above"
#endif

#define OWN_FRAME 528
#define TOC_SLOT 24
#define FPSCR_SLOT 32
#define VRSAVE_SLOT 40
#define VR_SLOTS 48
#define FPR_SLOTS 240
#define GPR_SLOTS 384
/* In the caller's header, above the switch's own frame. */
#define CR_SLOT (OWN_FRAME + 8)
#define LR_SLOT (OWN_FRAME + 16)
/* mtcrf field mask for CR2, CR3 and CR4 (bit 7 - n selects CRn). */
#define NONVOLATILE_CR 0x38

/* DWARF register numbers (the ABI's DWARF register number mapping): r0-r31
 * are 0-31, f0-f31 32-63, LR 65. */

    .abiversion 2
    .text

    .p2align 4
    FUNCTION coro_arch_switch
    .cfi_startproc
    mflr    %r0
    mfcr    %r12
    std     %r0, 16(%r1)
    .cfi_offset 65, 16
    stw     %r12, 8(%r1)
    stdu    %r1, -OWN_FRAME(%r1)
    .cfi_adjust_cfa_offset OWN_FRAME
    std     %r2, TOC_SLOT(%r1)
    std     %r14, GPR_SLOTS + 0(%r1)
    .cfi_offset 14, -144
    std     %r15, GPR_SLOTS + 8(%r1)
    .cfi_offset 15, -136
    std     %r16, GPR_SLOTS + 16(%r1)
    .cfi_offset 16, -128
    std     %r17, GPR_SLOTS + 24(%r1)
    .cfi_offset 17, -120
    std     %r18, GPR_SLOTS + 32(%r1)
    .cfi_offset 18, -112
    std     %r19, GPR_SLOTS + 40(%r1)
    .cfi_offset 19, -104
    std     %r20, GPR_SLOTS + 48(%r1)
    .cfi_offset 20, -96
    std     %r21, GPR_SLOTS + 56(%r1)
    .cfi_offset 21, -88
    std     %r22, GPR_SLOTS + 64(%r1)
    .cfi_offset 22, -80
    std     %r23, GPR_SLOTS + 72(%r1)
    .cfi_offset 23, -72
    std     %r24, GPR_SLOTS + 80(%r1)
    .cfi_offset 24, -64
    std     %r25, GPR_SLOTS + 88(%r1)
    .cfi_offset 25, -56
    std     %r26, GPR_SLOTS + 96(%r1)
    .cfi_offset 26, -48
    std     %r27, GPR_SLOTS + 104(%r1)
    .cfi_offset 27, -40
    std     %r28, GPR_SLOTS + 112(%r1)
    .cfi_offset 28, -32
    std     %r29, GPR_SLOTS + 120(%r1)
    .cfi_offset 29, -24
    std     %r30, GPR_SLOTS + 128(%r1)
    .cfi_offset 30, -16
    std     %r31, GPR_SLOTS + 136(%r1)
    .cfi_offset 31, -8
    stfd    %f14, FPR_SLOTS + 0(%r1)
    .cfi_offset 46, -288
    stfd    %f15, FPR_SLOTS + 8(%r1)
    .cfi_offset 47, -280
    stfd    %f16, FPR_SLOTS + 16(%r1)
    .cfi_offset 48, -272
    stfd    %f17, FPR_SLOTS + 24(%r1)
    .cfi_offset 49, -264
    stfd    %f18, FPR_SLOTS + 32(%r1)
    .cfi_offset 50, -256
    stfd    %f19, FPR_SLOTS + 40(%r1)
    .cfi_offset 51, -248
    stfd    %f20, FPR_SLOTS + 48(%r1)
    .cfi_offset 52, -240
    stfd    %f21, FPR_SLOTS + 56(%r1)
    .cfi_offset 53, -232
    stfd    %f22, FPR_SLOTS + 64(%r1)
    .cfi_offset 54, -224
    stfd    %f23, FPR_SLOTS + 72(%r1)
    .cfi_offset 55, -216
    stfd    %f24, FPR_SLOTS + 80(%r1)
    .cfi_offset 56, -208
    stfd    %f25, FPR_SLOTS + 88(%r1)
    .cfi_offset 57, -200
    stfd    %f26, FPR_SLOTS + 96(%r1)
    .cfi_offset 58, -192
    stfd    %f27, FPR_SLOTS + 104(%r1)
    .cfi_offset 59, -184
    stfd    %f28, FPR_SLOTS + 112(%r1)
    .cfi_offset 60, -176
    stfd    %f29, FPR_SLOTS + 120(%r1)
    .cfi_offset 61, -168
    stfd    %f30, FPR_SLOTS + 128(%r1)
    .cfi_offset 62, -160
    stfd    %f31, FPR_SLOTS + 136(%r1)
    .cfi_offset 63, -152
    /* stvx takes no displacement: the offset goes in an index register. */
    li      %r0, VR_SLOTS + 0
    stvx    %v20, %r1, %r0
    li      %r0, VR_SLOTS + 16
    stvx    %v21, %r1, %r0
    li      %r0, VR_SLOTS + 32
    stvx    %v22, %r1, %r0
    li      %r0, VR_SLOTS + 48
    stvx    %v23, %r1, %r0
    li      %r0, VR_SLOTS + 64
    stvx    %v24, %r1, %r0
    li      %r0, VR_SLOTS + 80
    stvx    %v25, %r1, %r0
    li      %r0, VR_SLOTS + 96
    stvx    %v26, %r1, %r0
    li      %r0, VR_SLOTS + 112
    stvx    %v27, %r1, %r0
    li      %r0, VR_SLOTS + 128
    stvx    %v28, %r1, %r0
    li      %r0, VR_SLOTS + 144
    stvx    %v29, %r1, %r0
    li      %r0, VR_SLOTS + 160
    stvx    %v30, %r1, %r0
    li      %r0, VR_SLOTS + 176
    stvx    %v31, %r1, %r0
    mfvrsave %r0
    stw     %r0, VRSAVE_SLOT(%r1)
    mffs    %f0
    stfd    %f0, FPSCR_SLOT(%r1)

    /* Both stacks hold a frame of the same shape, so the CFI above stays
     * true after the stack pointer changes. */
    std     %r1, 0(%r3)
    mr      %r10, %r1
    mr      %r1, %r4

    lfd     %f14, FPR_SLOTS + 0(%r1)
    lfd     %f15, FPR_SLOTS + 8(%r1)
    lfd     %f16, FPR_SLOTS + 16(%r1)
    lfd     %f17, FPR_SLOTS + 24(%r1)
    lfd     %f18, FPR_SLOTS + 32(%r1)
    lfd     %f19, FPR_SLOTS + 40(%r1)
    lfd     %f20, FPR_SLOTS + 48(%r1)
    lfd     %f21, FPR_SLOTS + 56(%r1)
    lfd     %f22, FPR_SLOTS + 64(%r1)
    lfd     %f23, FPR_SLOTS + 72(%r1)
    lfd     %f24, FPR_SLOTS + 80(%r1)
    lfd     %f25, FPR_SLOTS + 88(%r1)
    lfd     %f26, FPR_SLOTS + 96(%r1)
    lfd     %f27, FPR_SLOTS + 104(%r1)
    lfd     %f28, FPR_SLOTS + 112(%r1)
    lfd     %f29, FPR_SLOTS + 120(%r1)
    lfd     %f30, FPR_SLOTS + 128(%r1)
    lfd     %f31, FPR_SLOTS + 136(%r1)
    /* The FPSCR this thread runs with now is the one just stored in the
     * frame left behind (r10). Only the control byte is compared. */
    ld      %r9, FPSCR_SLOT(%r1)
    ld      %r10, FPSCR_SLOT(%r10)
    xor     %r10, %r10, %r9
    andi.   %r10, %r10, 0xff
    beq     1f
    lfd     %f0, FPSCR_SLOT(%r1)
    mtfsf   0x03, %f0
1:
    li      %r0, VR_SLOTS + 0
    lvx     %v20, %r1, %r0
    li      %r0, VR_SLOTS + 16
    lvx     %v21, %r1, %r0
    li      %r0, VR_SLOTS + 32
    lvx     %v22, %r1, %r0
    li      %r0, VR_SLOTS + 48
    lvx     %v23, %r1, %r0
    li      %r0, VR_SLOTS + 64
    lvx     %v24, %r1, %r0
    li      %r0, VR_SLOTS + 80
    lvx     %v25, %r1, %r0
    li      %r0, VR_SLOTS + 96
    lvx     %v26, %r1, %r0
    li      %r0, VR_SLOTS + 112
    lvx     %v27, %r1, %r0
    li      %r0, VR_SLOTS + 128
    lvx     %v28, %r1, %r0
    li      %r0, VR_SLOTS + 144
    lvx     %v29, %r1, %r0
    li      %r0, VR_SLOTS + 160
    lvx     %v30, %r1, %r0
    li      %r0, VR_SLOTS + 176
    lvx     %v31, %r1, %r0
    lwz     %r0, VRSAVE_SLOT(%r1)
    mtvrsave %r0
    ld      %r14, GPR_SLOTS + 0(%r1)
    ld      %r15, GPR_SLOTS + 8(%r1)
    ld      %r16, GPR_SLOTS + 16(%r1)
    ld      %r17, GPR_SLOTS + 24(%r1)
    ld      %r18, GPR_SLOTS + 32(%r1)
    ld      %r19, GPR_SLOTS + 40(%r1)
    ld      %r20, GPR_SLOTS + 48(%r1)
    ld      %r21, GPR_SLOTS + 56(%r1)
    ld      %r22, GPR_SLOTS + 64(%r1)
    ld      %r23, GPR_SLOTS + 72(%r1)
    ld      %r24, GPR_SLOTS + 80(%r1)
    ld      %r25, GPR_SLOTS + 88(%r1)
    ld      %r26, GPR_SLOTS + 96(%r1)
    ld      %r27, GPR_SLOTS + 104(%r1)
    ld      %r28, GPR_SLOTS + 112(%r1)
    ld      %r29, GPR_SLOTS + 120(%r1)
    ld      %r30, GPR_SLOTS + 128(%r1)
    ld      %r31, GPR_SLOTS + 136(%r1)
    ld      %r2, TOC_SLOT(%r1)
    ld      %r0, LR_SLOT(%r1)
    lwz     %r12, CR_SLOT(%r1)
    mtlr    %r0
    mtcrf   NONVOLATILE_CR, %r12
    addi    %r1, %r1, OWN_FRAME
    .cfi_adjust_cfa_offset -OWN_FRAME
    mr      %r3, %r5
    blr
    .cfi_endproc
    END_FUNCTION coro_arch_switch

    .p2align 4
    FUNCTION coro_arch_make
    .cfi_startproc
0:  addis   %r2, %r12, .TOC.-0b@ha
    addi    %r2, %r2, .TOC.-0b@l
    .localentry coro_arch_make, .-coro_arch_make
    /* The trampoline runs once the switch's own part is popped, with r1 at
     * the fresh frame header: 32 bytes below the 16-byte aligned top. */
    clrrdi  %r3, %r3, 4
    addi    %r3, %r3, -CORO_ARCH_FRAME_SIZE
    li      %r0, 0
    li      %r9, CORO_ARCH_FRAME_SIZE / 8
    mtctr   %r9
    addi    %r9, %r3, -8
2:  stdu    %r0, 8(%r9)
    bdnz    2b
    addi    %r9, %r3, OWN_FRAME
    std     %r9, 0(%r3)
    std     %r2, TOC_SLOT(%r3)
    mffs    %f0
    stfd    %f0, FPSCR_SLOT(%r3)
    mfvrsave %r0
    stw     %r0, VRSAVE_SLOT(%r3)
    std     %r5, GPR_SLOTS + 0(%r3)
    std     %r6, GPR_SLOTS + 8(%r3)
    addis   %r9, %r2, coro_arch_trampoline@toc@ha
    addi    %r9, %r9, coro_arch_trampoline@toc@l
    std     %r9, LR_SLOT(%r3)
    blr
    .cfi_endproc
    END_FUNCTION coro_arch_make

/*
 * The first switch into a coroutine returns here with the value in r3,
 * start in r14, arg in r15, and r1 at a frame header whose back chain is 0.
 * The undefined return address ends DWARF walks (gdb, _Unwind_Backtrace)
 * here; the back chain ends glibc's backtrace().
 */
    .p2align 4
    LOCAL_FUNCTION coro_arch_trampoline
    .cfi_startproc
    .cfi_undefined 65
    mr      %r12, %r14
    mtctr   %r12
    mr      %r4, %r15
    bctrl
    trap
    .cfi_endproc
    END_FUNCTION coro_arch_trampoline

    .section .note.GNU-stack, "", %progbits
