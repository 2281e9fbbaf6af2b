/*
 * DWARF call-frame rules that lead an unwinder from a coroutine's root into
 * the context that resumed it, for the ports whose switch leaves a frame of
 * fixed shape at the saved stack pointer (aarch64.S, arm.S, riscv64.S).
 * x86_64_sysv.S writes its own; these follow the same plan. Included by the
 * .S after arch.h, with two numbers defined first:
 *
 *   RESUMER_CFI_SP       the DW_OP_bregN opcode of the stack pointer
 *                        (0x70 + its DWARF register number)
 *   RESUMER_CFI_POINTER  the size of a pointer, in bytes
 *
 * What the trampoline leaves at its stack pointer before it calls start, and
 * keeps there until the coroutine ends:
 *
 *   sp + 0                  the control block (make's arg, never NULL)
 *   sp + RESUMER_CFI_POINTER  the address of a frame of zeros, as large as
 *                           a suspended frame (RESUMER_CFI_NO_RESUMER_FRAME)
 *
 * The control block keeps the resumer at CORO_ARCH_RESUMER_OFFSET, and every
 * context keeps its saved stack pointer at offset 0 (src/arch.h). A resumer
 * is suspended in coro_arch_switch, so its saved stack pointer addresses a
 * frame of the shape each .S file draws: its callee-saved registers and the
 * address it returns to. The rules read them from there. With no resumer (a
 * chain begun by a transfer from the thread) they read the frame of zeros
 * instead: a return address of 0 ends every walk, and the other registers
 * read as 0 (a frame pointer of 0 ends frame-pointer walks too).
 *
 * The rules are DWARF expressions written out as bytes (.cfi_escape; DWARF 5,
 * 6.4.2 "Call Frame Instructions" and 2.5 "DWARF Expressions"):
 *   0x0f n     DW_CFA_def_cfa_expression: the CFA is the n-byte expression's value
 *   0x10 r n   DW_CFA_expression: register r is saved at the address computed
 *   0x16 r n   DW_CFA_val_expression: register r's value is the one computed
 *   breg k     DW_OP_bregN k: the stack pointer + k (k a one-byte SLEB128, < 64)
 *   0x06 DW_OP_deref   0x23 u DW_OP_plus_uconst u   0x30 DW_OP_lit0
 *   0x40 DW_OP_lit16   0x1e DW_OP_mul   0x22 DW_OP_plus   0x29 DW_OP_eq
 *   0x2e DW_OP_ne      0x24 DW_OP_shl   0x25 DW_OP_shr
 * Register numbers and offsets are written as two-byte ULEB128 (low seven
 * bits with the continuation bit, then the rest), which every decoder reads
 * for values below 16384, so that each rule has a fixed length.
 *
 * No branch and no stack operation (DW_OP_bra, DW_OP_dup): valgrind 3.19
 * evaluates only register reads, loads, arithmetic and comparisons in CFI
 * expressions (coregrind/m_debuginfo/readdwarf.c, dwarfexpr_to_dag). The
 * choice between the two frames is arithmetic, recomputing the resumer where
 * it is needed:
 *   resumer = *(*sp + CORO_ARCH_RESUMER_OFFSET)
 *   frame   = *(resumer + (resumer == 0) * (sp + POINTER)): the resumer's
 *             saved stack pointer, or the address of the frame of zeros
 *   register saved at frame + slot
 *   CFA     = (resumer != 0) * (frame + FRAME_SIZE) + (resumer == 0) * (sp + pushed),
 *             where pushed is what the trampoline pushed: with no resumer
 *             the CFA is the trampoline's own, the stack's top.
 */
#ifndef CORO_ARCH_RESUMER_CFI_H
#define CORO_ARCH_RESUMER_CFI_H

#define RESUMER_CFI_ULEB2(value) (((value) & 0x7f) | 0x80), ((value) >> 7)

/* resumer: 6 bytes */
#define RESUMER_CFI_RESUMER RESUMER_CFI_SP, 0x00, 0x06, 0x23, CORO_ARCH_RESUMER_OFFSET, 0x06
/* frame: 19 bytes */
#define RESUMER_CFI_FRAME \
    RESUMER_CFI_RESUMER, RESUMER_CFI_RESUMER, 0x30, 0x29, RESUMER_CFI_SP, RESUMER_CFI_POINTER, 0x1e, 0x22, 0x06

/* The CFA (43 bytes of expression). */
#define RESUMER_CFI_CFA(frame_size, pushed) \
    .cfi_escape 0x0f, 43, RESUMER_CFI_FRAME, 0x23, RESUMER_CFI_ULEB2(frame_size), \
        RESUMER_CFI_RESUMER, 0x30, 0x2e, 0x1e, \
        RESUMER_CFI_SP, pushed, RESUMER_CFI_RESUMER, 0x30, 0x29, 0x1e, 0x22

/* Register dwarf_register is saved at frame + slot (22 bytes of expression). */
#define RESUMER_CFI_SAVED(dwarf_register, slot) \
    .cfi_escape 0x10, RESUMER_CFI_ULEB2(dwarf_register), 22, RESUMER_CFI_FRAME, 0x23, RESUMER_CFI_ULEB2(slot)

/* Register dwarf_register's value is the word at frame + slot with its 16
 * top bits cleared (27 bytes of expression): AArch64's return address,
 * whose top bits hold a pointer-authentication code (aarch64.S). */
#define RESUMER_CFI_SAVED_LOW48(dwarf_register, slot) \
    .cfi_escape 0x16, RESUMER_CFI_ULEB2(dwarf_register), 27, RESUMER_CFI_FRAME, 0x23, RESUMER_CFI_ULEB2(slot), \
        0x06, 0x40, 0x24, 0x40, 0x25

#endif /* CORO_ARCH_RESUMER_CFI_H */
