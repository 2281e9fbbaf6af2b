/*
 * The assembly half of test_registers for 32-bit Arm AAPCS (see
 * src/arch/arm.S for the ABI sections): as regs_x86_64_sysv.S, except:
 *
 * void regs_switch(void **save_sp, void *load_sp, void *value,
 *                  r0               r1             r2
 *                  const uint64_t *fill, uint64_t *seen);
 *                  r3                    [sp]
 *
 * fill[] and seen[] hold, in the order of regs_names in test_registers.c:
 * r4-r11 (low 32 bits of each entry), d8-d15 (all 64 bits), FPSCR, the
 * call site, sp; without an FP unit (no __ARM_FP) d8-d15 and FPSCR are
 * absent.
 *
 * lr. Every side calls the switch from inside this function, so a switch
 * that returned through the lr it was entered with instead of the saved
 * one would still land here. regs_switch therefore calls the switch from
 * one of two call sites, chosen by fill[], and records in seen[] the site
 * control came back to: a switch that drops lr returns the resumer at the
 * coroutine's site or the other way round.
 *
 * Its own frame, 112 bytes (48 without an FP unit):
 *   +76     r4-r11, lr of the caller (+12 without an FP unit)
 *   +12     d8-d15 of the caller
 *   +8      sp at this point, to compare after the switch
 *   +4      the caller's FPSCR
 *   +0      seen
 */
#include "arch/asm.h"
#if defined(__ARM_FP)
#define VFP_BYTES 64
#define FILL_FPSCR 128
#define FILL_SITE 136
#define FILL_SP 144
#else
#define VFP_BYTES 0
#define FILL_SITE 64
#define FILL_SP 72
#endif
#define LOCALS 12
#define SEEN_ARG (LOCALS + VFP_BYTES + 36)

    .syntax unified
#if defined(__thumb__)
    .thumb
#else
    .arm
#endif
    .text
    .p2align 2
#if defined(__thumb__)
    .thumb_func
#endif
    FUNCTION regs_switch
    .fnstart
    push    {r4-r11, lr}
    .save   {r4-r11, lr}
#if defined(__ARM_FP)
    vpush   {d8-d15}
    .vsave  {d8-d15}
#endif
    sub     sp, sp, #LOCALS         /* 36 + 64 + 12: sp 8-aligned for the call */
    .pad    #LOCALS
    ldr     ip, [sp, #SEEN_ARG]
    str     ip, [sp, #0]
    mov     ip, sp
    str     ip, [sp, #8]
#if defined(__ARM_FP)
    vmrs    ip, fpscr
    str     ip, [sp, #4]
    ldr     ip, [r3, #FILL_FPSCR]
    vmsr    fpscr, ip
    add     ip, r3, #64
    vldmia  ip, {d8-d15}
#endif
    ldr     r4, [r3, #0]
    ldr     r5, [r3, #8]
    ldr     r6, [r3, #16]
    ldr     r7, [r3, #24]
    ldr     r8, [r3, #32]
    ldr     r9, [r3, #40]
    ldr     r10, [r3, #48]
    ldr     r11, [r3, #56]
    ldr     ip, [r3, #FILL_SITE]
    cmp     ip, #0
    bne     .Lcall_from_site_1
    bl      C_SYMBOL(coro_arch_switch)
    movs    r3, #0
    b       .Lrecord
.Lcall_from_site_1:
    bl      C_SYMBOL(coro_arch_switch)
    movs    r3, #1

.Lrecord:
    ldr     ip, [sp, #0]
    str     r4, [ip, #0]
    str     r5, [ip, #8]
    str     r6, [ip, #16]
    str     r7, [ip, #24]
    str     r8, [ip, #32]
    str     r9, [ip, #40]
    str     r10, [ip, #48]
    str     r11, [ip, #56]
#if defined(__ARM_FP)
    add     r1, ip, #64
    vstmia  r1, {d8-d15}
    vmrs    r1, fpscr
    str     r1, [ip, #FILL_FPSCR]
#endif
    str     r3, [ip, #FILL_SITE]
    mov     r1, sp
    ldr     r2, [sp, #8]
    sub     r1, r1, r2
    str     r1, [ip, #FILL_SP]

#if defined(__ARM_FP)
    ldr     r1, [sp, #4]
    vmsr    fpscr, r1
#endif
    add     sp, sp, #LOCALS
#if defined(__ARM_FP)
    vpop    {d8-d15}
#endif
    pop     {r4-r11, lr}
    bx      lr
    .fnend
    END_FUNCTION regs_switch

    .section .note.GNU-stack, "", %progbits
