/*
 * Test helper for test_registers, AArch64 AAPCS64 (see src/arch/aarch64.S
 * for the ABI sections).
 *
 * void regs_switch(void **save_sp, void *load_sp, void *value,
 *                  x0               x1             x2
 *                  const uint64_t *fill, uint64_t *seen);
 *                  x3                    x4
 *
 * Loads every callee-saved register from fill[] (in the order of regs_names
 * in test_registers.c: x19-x28, x29, d8-d15, fpcr, sp), calls
 * coro_arch_switch, and when control comes back writes what the registers
 * then hold into seen[]. For sp it writes the difference from before the
 * call, which must be 0. Only FPCR's mode bits are taken from fill[], the
 * reserved ones are kept. It restores the caller's own registers and FPCR
 * before returning, so it is itself ABI-conforming.
 */
#include "arch/asm.h"
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define LANDING_PAD hint #34
#else
#define LANDING_PAD
#endif

#define FPCR_MODE_LOW  0x1f03
#define FPCR_MODE_HIGH 0x01c0

    .text
    .p2align 4
    FUNCTION regs_switch
    .cfi_startproc
    LANDING_PAD
    stp     x29, x30, [sp, #-192]!
    .cfi_def_cfa_offset 192
    .cfi_offset x29, -192
    .cfi_offset x30, -184
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    mrs     x9, fpcr
    stp     x9, x4, [sp, #160]
    mov     x9, sp
    str     x9, [sp, #176]

    ldp     x19, x20, [x3, #0]
    ldp     x21, x22, [x3, #16]
    ldp     x23, x24, [x3, #32]
    ldp     x25, x26, [x3, #48]
    ldp     x27, x28, [x3, #64]
    ldr     x29, [x3, #80]
    ldp     d8, d9, [x3, #88]
    ldp     d10, d11, [x3, #104]
    ldp     d12, d13, [x3, #120]
    ldp     d14, d15, [x3, #136]
    movz    x12, #FPCR_MODE_LOW
    movk    x12, #FPCR_MODE_HIGH, lsl #16
    ldr     x10, [x3, #152]
    mrs     x9, fpcr
    bic     x9, x9, x12
    and     x10, x10, x12
    orr     x9, x9, x10
    msr     fpcr, x9

    bl      C_SYMBOL(coro_arch_switch)

    ldr     x9, [sp, #168]
    stp     x19, x20, [x9, #0]
    stp     x21, x22, [x9, #16]
    stp     x23, x24, [x9, #32]
    stp     x25, x26, [x9, #48]
    stp     x27, x28, [x9, #64]
    str     x29, [x9, #80]
    stp     d8, d9, [x9, #88]
    stp     d10, d11, [x9, #104]
    stp     d12, d13, [x9, #120]
    stp     d14, d15, [x9, #136]
    mrs     x10, fpcr
    str     x10, [x9, #152]
    mov     x10, sp
    ldr     x11, [sp, #176]
    sub     x10, x10, x11
    str     x10, [x9, #160]

    ldr     x9, [sp, #160]
    msr     fpcr, x9
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    ldp     x29, x30, [sp], #192
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    END_FUNCTION regs_switch

#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
    .section .note.gnu.property, "a"
    .p2align 3
    .long   4, 16, 5                /* "GNU", 16-byte descriptor, NT_GNU_PROPERTY_TYPE_0 */
    .asciz  "GNU"
    .long   0xc0000000, 4, 1, 0     /* GNU_PROPERTY_AARCH64_FEATURE_1_AND: BTI */
#endif

#if !CORO_MACHO
/* No executable stack: without this note the linker makes one. */
    .section .note.GNU-stack, "", %progbits
#endif
