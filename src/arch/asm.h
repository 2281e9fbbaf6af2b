/*
 * Object-format macros for the switches in src/arch/ (one .S per ABI), so that each ABI's
 * instruction sequence is written once and assembles for ELF and Mach-O.
 * Included by every .S after arch.h. Assembler macros (.macro), not C
 * macros: a C macro cannot produce several lines, and the statement
 * separator differs between assemblers (Apple's arm64 assembler reads `;`
 * as a comment).
 *
 *   FUNCTION name        a function of the library, not exported from it
 *                        (ELF: .hidden; Mach-O: .private_extern, and C
 *                        symbols take a leading underscore)
 *   LOCAL_FUNCTION name  a function of this file alone
 *   END_FUNCTION name    closes either (ELF: its size, for debuggers)
 *   C_SYMBOL(name)       a C function's name as an instruction refers to it
 *   LOCAL_LABEL(name)    a branch target inside a function: ELF's .L and
 *                        Mach-O's L make it an assembler-local label, which
 *                        neither object file lists; any other name would
 *                        start a new "atom" on Mach-O, and a branch to it
 *                        would take a relocation and a longer encoding
 *
 * Alignment (.p2align), .thumb_func and unwind directives stay in the .S:
 * they are the same in both formats. So does the ELF note that keeps the
 * stack from being executable (.section .note.GNU-stack), written out in
 * each file, under #if !CORO_MACHO where the file also serves Mach-O.
 */
#ifndef CORO_ARCH_ASM_H
#define CORO_ARCH_ASM_H

#if defined(__APPLE__) && defined(__MACH__)
#define CORO_MACHO 1
#define C_SYMBOL(name) _##name
#define LOCAL_LABEL(name) L##name

    .macro FUNCTION name
    .globl _\name
    .private_extern _\name
_\name:
    .endm

    .macro LOCAL_FUNCTION name
\name:
    .endm

    .macro END_FUNCTION name
    .endm


#elif defined(__ELF__)
#define CORO_MACHO 0
#define C_SYMBOL(name) name
#define LOCAL_LABEL(name) .L##name

    .macro FUNCTION name
    .globl \name
    .hidden \name
    .type \name, %function
\name:
    .endm

    .macro LOCAL_FUNCTION name
    .type \name, %function
\name:
    .endm

    .macro END_FUNCTION name
    .size \name, .-\name
    .endm


#else
#error "libcoro: src/arch/asm.h knows ELF and Mach-O only"
#endif

#endif /* CORO_ARCH_ASM_H */
