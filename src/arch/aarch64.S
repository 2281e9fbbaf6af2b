/*
 * Context switch for AArch64 (Linux): as x86_64_sysv.S, except for what the
 * notes below say.
 *
 * ABI facts this file relies on: Arm's "Procedure Call Standard for the Arm
 * 64-bit Architecture (AAPCS64)":
 *   6.1.1 General-purpose Registers: x19-x29 and sp must be preserved; x30
 *     (lr) holds the return address; x18 is the platform register and is
 *     never touched here; x16/x17 may be clobbered by linker veneers.
 *   6.1.2 SIMD and Floating-Point Registers: only the low 64 bits of v8-v15
 *     (d8-d15) must be preserved. FPSR (the sticky exception flags) is not
 *     preserved. FPCR "is a global register": its mode bits (AH and FIZ 0-1,
 *     the exception trap enables 8-12, rounding 22-23, flush-to-zero 24) are
 *     changed only by support functions that set the application's global
 *     state (the C <fenv.h> functions); its other bits are reserved.
 *   6.4 The Stack: sp mod 16 = 0 at every public interface, and whenever sp
 *     is used to access memory.
 *
 * void *coro_arch_switch(void **save_sp, void *load_sp, void *value);
 *                        x0               x1             x2    -> x0
 * void *coro_arch_make(void *stack_top, void *stack_bottom,
 *                      x0               x1 (unused)
 *                      coro_arch_start_fn start, void *arg);
 *                      x2                        x3         -> x0
 *
 * A suspended frame, at the saved stack pointer (CORO_ARCH_FRAME_SIZE = 176):
 *
 *   offset  switch saved                 a fresh frame from make holds
 *   +168    (padding, keeps sp 16-aligned)
 *   +160    FPCR                         FPCR of make's caller
 *   +96     d8 ... d15  (8 bytes each)   0
 *   +16     x19 ... x28 (8 bytes each)   x19 = arg, x20 = start, others 0
 *   +8      x30 (lr), signed under PAC   coro_arch_trampoline, signed under PAC
 *   +0      x29 (fp)                     0 (ends frame-record walks)
 *
 * x29 and x30 sit at the bottom, where a prologue puts its frame record, so
 * a saved stack pointer points at a valid frame record: a debugger or a
 * profiler can walk a suspended coroutine's frame chain from it.
 *
 * FPCR policy. The AAPCS64 does not make FPCR callee-saved, nor does it
 * forbid restoring it: it is global state that only <fenv.h> calls change.
 * libcoro keeps the FP control state per context on every ABI (x86_64_sysv.S
 * does so for MXCSR and the x87 control word; test_registers checks the
 * rounding mode on every port), so a coroutine's fesetround() does not leak
 * into the context it switches to. Only the mode bits named above are carried; the reserved bits stay as
 * the thread has them. Reading FPCR is cheap, writing it may serialise the
 * pipeline, so it is always saved and written only when the mode bits of the
 * two contexts differ.
 *
 * Branch protection (-mbranch-protection=standard, i.e. BTI and pac-ret):
 *  - The switch returns with `ret`, never `br`: under BTI a `br` must land on
 *    a `bti j`, and the return sites of calls have no landing pad. `ret` also
 *    reaches the trampoline, so the trampoline needs no landing pad either.
 *    (x86_64_sysv.S jumps instead, which the return-stack predictor never
 *    sees; here that jump would need a `bti j` at every call site.)
 *  - The public functions start with `bti c`, as the compiler's would.
 *  - Under pac-ret the return address is signed before it is stored in a
 *    suspended frame and authenticated before `ret`, so a suspended stack
 *    holds no unsigned code pointer. The modifier is sp at the switch's
 *    entry, which is also sp once the frame is popped, on either stack; make
 *    signs the trampoline's address with the sp the trampoline will run with.
 *    All of these are HINT instructions, which do nothing on cores without
 *    BTI or pointer authentication; they are written as `hint #n` so that
 *    the assembler takes them at the base architecture level.
 */
#include "../arch.h"
#include "asm.h"

#define RESUMER_CFI_SP 0x8f /* DW_OP_breg31: sp */
#define RESUMER_CFI_POINTER 8
#include "resumer_cfi.h"

/*
 * Apple arm64 (macOS, the same instructions in Mach-O; Apple's "Writing
 * ARM64 code for Apple platforms", which lists where Apple departs from
 * AAPCS64):
 *  - "The platform reserves register x18. Don't use this register." The
 *    switch never touches it, on any platform.
 *  - "The frame pointer register (x29) must always address a valid frame
 *    record." The switch creates no frame record of its own, so x29 keeps
 *    addressing its caller's until it is restored from the other stack,
 *    where it addresses that context's; a fresh frame holds x29 = 0, the
 *    end of the chain.
 *  - Stack alignment is AAPCS64's (sp 16-byte aligned at all times); the
 *    fresh frame below keeps it.
 *  - No BTI and no return-address signing: arm64 (not arm64e) has neither,
 *    so on Mach-O both stay off whatever the compiler says.
 */
#if CORO_MACHO
#define USE_BTI 0
#elif defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define USE_BTI 1
#else
#define USE_BTI 0
#endif

#if CORO_MACHO
#define USE_PAC 0
#elif defined(__ARM_FEATURE_PAC_DEFAULT) && (__ARM_FEATURE_PAC_DEFAULT & 3)
#define USE_PAC 1
#else
#define USE_PAC 0
#endif

/* FPCR bits the AAPCS64 lets <fenv.h> change: 0-1, 8-12, 22-24. */
#define FPCR_MODE_LOW  0x1f03
#define FPCR_MODE_HIGH 0x01c0

    .macro landing_pad
#if USE_BTI
    hint    #34                     /* bti c */
#endif
    .endm

/* Sign x30 with sp as the modifier, with the key the compiler uses. */
    .macro sign_lr
#if USE_PAC && (__ARM_FEATURE_PAC_DEFAULT & 2)
    .cfi_b_key_frame
    hint    #27                     /* pacibsp */
    .cfi_negate_ra_state
#elif USE_PAC
    hint    #25                     /* paciasp */
    .cfi_negate_ra_state
#endif
    .endm

    .macro authenticate_lr
#if USE_PAC && (__ARM_FEATURE_PAC_DEFAULT & 2)
    hint    #31                     /* autibsp */
    .cfi_negate_ra_state
#elif USE_PAC
    hint    #29                     /* autiasp */
    .cfi_negate_ra_state
#endif
    .endm

/* Sign x17 with x16 as the modifier: what sign_lr does, for a stored value. */
    .macro sign_x17_with_x16
#if USE_PAC && (__ARM_FEATURE_PAC_DEFAULT & 2)
    hint    #10                     /* pacib1716 */
#elif USE_PAC
    hint    #8                      /* pacia1716 */
#endif
    .endm

    .text

    .p2align 4
    FUNCTION coro_arch_switch
    .cfi_startproc
    landing_pad
    sign_lr
    stp     x29, x30, [sp, #-CORO_ARCH_FRAME_SIZE]!
    .cfi_def_cfa_offset CORO_ARCH_FRAME_SIZE
    .cfi_offset x29, -176
    .cfi_offset x30, -168
    stp     x19, x20, [sp, #16]
    .cfi_offset x19, -160
    .cfi_offset x20, -152
    stp     x21, x22, [sp, #32]
    .cfi_offset x21, -144
    .cfi_offset x22, -136
    stp     x23, x24, [sp, #48]
    .cfi_offset x23, -128
    .cfi_offset x24, -120
    stp     x25, x26, [sp, #64]
    .cfi_offset x25, -112
    .cfi_offset x26, -104
    stp     x27, x28, [sp, #80]
    .cfi_offset x27, -96
    .cfi_offset x28, -88
    stp     d8, d9, [sp, #96]
    .cfi_offset d8, -80
    .cfi_offset d9, -72
    stp     d10, d11, [sp, #112]
    .cfi_offset d10, -64
    .cfi_offset d11, -56
    stp     d12, d13, [sp, #128]
    .cfi_offset d12, -48
    .cfi_offset d13, -40
    stp     d14, d15, [sp, #144]
    .cfi_offset d14, -32
    .cfi_offset d15, -24
    mrs     x9, fpcr
    str     x9, [sp, #160]

    mov     x10, sp
    str     x10, [x0]
    mov     sp, x1

    ldr     x10, [sp, #160]
    eor     x11, x9, x10
    movz    x12, #FPCR_MODE_LOW
    movk    x12, #FPCR_MODE_HIGH, lsl #16
    tst     x11, x12
    b.ne    LOCAL_LABEL(reload_fpcr)
LOCAL_LABEL(restore):
    .cfi_remember_state
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    ldp     x29, x30, [sp], #CORO_ARCH_FRAME_SIZE
    .cfi_def_cfa_offset 0
    authenticate_lr
    mov     x0, x2
    ret

LOCAL_LABEL(reload_fpcr):
    .cfi_restore_state
    bic     x9, x9, x12
    and     x10, x10, x12
    orr     x9, x9, x10
    msr     fpcr, x9
    b       LOCAL_LABEL(restore)
    .cfi_endproc
    END_FUNCTION coro_arch_switch

    .p2align 4
    FUNCTION coro_arch_make
    .cfi_startproc
    landing_pad
    /* x16 = the sp the trampoline runs with: 16-aligned (6.4) for its call. */
    and     x16, x0, #-16
    sub     x0, x16, #CORO_ARCH_FRAME_SIZE
    adr     x17, coro_arch_trampoline
    sign_x17_with_x16
    stp     xzr, x17, [x0, #0]
    stp     x3, x2, [x0, #16]
    stp     xzr, xzr, [x0, #32]
    stp     xzr, xzr, [x0, #48]
    stp     xzr, xzr, [x0, #64]
    stp     xzr, xzr, [x0, #80]
    stp     xzr, xzr, [x0, #96]
    stp     xzr, xzr, [x0, #112]
    stp     xzr, xzr, [x0, #128]
    stp     xzr, xzr, [x0, #144]
    mrs     x9, fpcr
    stp     x9, xzr, [x0, #160]
    ret
    .cfi_endproc
    END_FUNCTION coro_arch_make

/*
 * The first switch into a coroutine returns here with the value in x0, arg
 * (the control block) in x19, start in x20, x29 = 0, and sp 16-aligned.
 * start is C code, so under BTI it begins with the `bti c` that `blr` needs.
 *
 * Unwinding past the root, as in x86_64_sysv.S: the rules below lead gdb,
 * backtrace() and _Unwind_Backtrace from here into the resumer's suspended
 * frame (drawn at the top of this file; CFA = its saved sp + 176), or, with
 * no resumer, to a return address of 0 (src/arch/resumer_cfi.h). The
 * trampoline keeps the control block and the address of a frame of zeros at
 * its sp for them; 16 bytes keep sp 16-aligned for the call (6.4).
 *
 * Under pac-ret the resumer's saved x30 is signed with the sp it had at the
 * switch's entry, which is this frame's CFA; an unwinder would authenticate
 * it with that CFA if this frame said so, but then the 0 that ends a walk
 * would fail authentication (a garbage frame, or a fault on cores with
 * FEAT_FPAC). So the rule strips the code instead: the return address is
 * the saved x30 with its top 16 bits cleared, which is the address itself
 * wherever user code lies below 2^48 (Linux's default 48-bit user address
 * space; only a program that asks mmap for higher addresses gets code above
 * it). The rule is the same without pac-ret, where those bits are 0.
 */
    .p2align 4
    LOCAL_FUNCTION coro_arch_trampoline
    .cfi_startproc
    .cfi_undefined x30
    adr     x9, LOCAL_LABEL(no_resumer_frame)
    stp     x19, x9, [sp, #-16]!
    RESUMER_CFI_CFA(CORO_ARCH_FRAME_SIZE, 16)
    RESUMER_CFI_SAVED(29, 0)
    RESUMER_CFI_SAVED_LOW48(30, 8)
    RESUMER_CFI_SAVED(19, 16)
    RESUMER_CFI_SAVED(20, 24)
    RESUMER_CFI_SAVED(21, 32)
    RESUMER_CFI_SAVED(22, 40)
    RESUMER_CFI_SAVED(23, 48)
    RESUMER_CFI_SAVED(24, 56)
    RESUMER_CFI_SAVED(25, 64)
    RESUMER_CFI_SAVED(26, 72)
    RESUMER_CFI_SAVED(27, 80)
    RESUMER_CFI_SAVED(28, 88)
    RESUMER_CFI_SAVED(72, 96)   /* d8 (v8, DWARF 64 + 8) */
    RESUMER_CFI_SAVED(73, 104)
    RESUMER_CFI_SAVED(74, 112)
    RESUMER_CFI_SAVED(75, 120)
    RESUMER_CFI_SAVED(76, 128)
    RESUMER_CFI_SAVED(77, 136)
    RESUMER_CFI_SAVED(78, 144)
    RESUMER_CFI_SAVED(79, 152)  /* d15 */
    mov     x1, x19
    blr     x20
    brk     #0x1
    .cfi_endproc
    END_FUNCTION coro_arch_trampoline

/* The frame the unwind rules above read when there is no resumer. */
    .p2align 4
LOCAL_LABEL(no_resumer_frame):
    .fill   CORO_ARCH_FRAME_SIZE, 1, 0

#if USE_BTI || USE_PAC
/* GNU property note: this object has BTI landing pads and/or signs return
 * addresses, so the linker may mark the library as such. */
    .section .note.gnu.property, "a"
    .p2align 3
    .long   4                       /* name size: "GNU\0" */
    .long   16                      /* descriptor size */
    .long   5                       /* NT_GNU_PROPERTY_TYPE_0 */
    .asciz  "GNU"
    .long   0xc0000000              /* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
    .long   4
    .long   (USE_BTI * 1) | (USE_PAC * 2) /* FEATURE_1_BTI | FEATURE_1_PAC */
    .long   0
#endif

#if !CORO_MACHO
/* No executable stack: without this note the linker makes one. */
    .section .note.GNU-stack, "", %progbits
#endif
