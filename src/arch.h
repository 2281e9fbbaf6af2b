/*
 * The arch contract: the only things libcoro cannot write in C. One .S file
 * per ABI under src/arch/ implements exactly these two functions; everything
 * else (states, values, stacks, sanitizer hooks) is portable C in coro.c.
 *
 * This header is included by C and by the assembly files, so it holds only
 * #defines outside the __ASSEMBLER__ guard.
 *
 * switch  Saves the caller's callee-saved registers (integer, floating point
 *         and the FP control state the ABI makes callee-saved) on its own
 *         stack, stores the stack pointer in *save_sp, loads load_sp,
 *         restores the registers saved there and returns value to the code
 *         that was suspended there. A suspended stack pointer is therefore
 *         the only state of a suspended context.
 *
 * make    Builds a suspended frame just below stack_top so that the first
 *         switch to the returned stack pointer enters a trampoline that calls
 *         start(value, arg) on the new stack, aligned as the ABI requires for
 *         a call, where value is what that first switch passed. start must
 *         never return; if it did, the trampoline traps. The trampoline's
 *         unwind information leads a walk from the coroutine's root on into
 *         the context that resumed it (its suspended frame, at the saved
 *         stack pointer the resumer's control block holds), or ends it at the
 *         root with a return address of 0 when there is no resumer; so arg
 *         must be the coroutine's control block (CORO_ARCH_RESUMER_OFFSET
 *         below). DWARF rules do it on x86-64 System V, AArch64, ARMv7
 *         and RISC-V 64, with a personality routine for Arm's EHABI tables
 *         (arm_unwind.c); Win64's unwind codes cannot (x86_64_win64.S), and
 *         there, as on s390x and ppc64le, every walk ends at the root. The frame
 *         starts with the FP control state of the thread calling make.
 *         stack_bottom is the lowest usable address (above any guard); only
 *         ABIs whose thread block describes the stack (Win64) use it: it
 *         becomes the coroutine's StackLimit and DeallocationStack there.
 *         make writes only within [stack_top - CORO_ARCH_FRAME_SIZE -
 *         2 * CORO_ARCH_STACK_ALIGN, stack_top), and stack_top need not be
 *         aligned: the hand-off hook (coro.c, switch_with_hook) also builds
 *         frames with it inside a live stack, just below a suspended
 *         context's stack pointer, and abandons them after one use.
 */
#ifndef CORO_ARCH_H
#define CORO_ARCH_H

/* Bytes of one suspended frame, return address included. Used by the core
 * to check that a stack can hold at least a frame plus CORO_STACK_MIN. */
#if defined(__x86_64__) && defined(_WIN64)
#define CORO_ARCH_FRAME_SIZE 272
#elif defined(__x86_64__)
#define CORO_ARCH_FRAME_SIZE 64
#elif defined(__aarch64__)
#define CORO_ARCH_FRAME_SIZE 176
#elif defined(__arm__) && defined(__ARM_FP)
#define CORO_ARCH_FRAME_SIZE 104
#elif defined(__arm__)
#define CORO_ARCH_FRAME_SIZE 40
#elif defined(__riscv) && __riscv_xlen == 64 && defined(__riscv_flen)
#define CORO_ARCH_FRAME_SIZE 208
#elif defined(__riscv) && __riscv_xlen == 64
#define CORO_ARCH_FRAME_SIZE 112
#elif defined(__s390x__)
#define CORO_ARCH_FRAME_SIZE 232
#elif defined(__powerpc64__) && defined(_CALL_ELF) && _CALL_ELF == 2
#define CORO_ARCH_FRAME_SIZE 560
#elif defined(__i386__)
#define CORO_ARCH_FRAME_SIZE 28
#elif defined(__mips64) && defined(_MIPS_SIM) && _MIPS_SIM == _ABI64
#define CORO_ARCH_FRAME_SIZE 160
#else
#error "libcoro: no context switch for this architecture"
#endif

/* Where the control block that coro_arch_make receives as arg keeps the
 * context that control returns to (NULL: none known), so that unwinders can
 * continue from a coroutine's root into it (x86_64_sysv.S, resumer_cfi.h,
 * arm_unwind.c). A context's saved stack pointer is the block's first word.
 * coro.c checks both. */
#define CORO_ARCH_RESUMER_OFFSET (2 * __SIZEOF_POINTER__)

/* 1: the switch saves and restores the FP control state the ABI makes
 * callee-saved (the default); 0: it leaves it alone (-Dfp_control=false,
 * x86-64 System V only). */
#ifndef CORO_FP_CONTROL
#define CORO_FP_CONTROL 1
#endif

/* Alignment every ABI we support accepts for a fresh stack top. */
#define CORO_ARCH_STACK_ALIGN 16

/* Win64: the fields of the thread environment block (TEB, at gs:0) that
 * describe the running stack, which the switch exchanges with the stack.
 * Offsets of the x64 layout, as in Wine's include/winternl.h and the NT_TIB
 * of Microsoft's winnt.h. Exception dispatch rejects frames outside
 * [StackLimit, StackBase], and __chkstk probes from StackLimit down. */
#define CORO_TEB_STACK_BASE 0x08          /* one past the highest stack byte */
#define CORO_TEB_STACK_LIMIT 0x10         /* lowest committed stack byte */
#define CORO_TEB_DEALLOCATION_STACK 0x1478 /* base of the stack's reservation */
#define CORO_TEB_GUARANTEED_STACK_BYTES 0x1748 /* 32 bits: SetThreadStackGuarantee() */

#ifndef __ASSEMBLER__

#include <stdint.h>

typedef void (*coro_arch_start_fn)(void *value, void *arg);

void *coro_arch_switch(void **save_sp, void *load_sp, void *value);

/* The assembler's name of a C function: Mach-O puts an underscore before
 * every C symbol (the compiler's __USER_LABEL_PREFIX__), ELF nothing. */
#define CORO_ARCH_STRING(x) #x
#define CORO_ARCH_PREFIXED(prefix, name) CORO_ARCH_STRING(prefix) #name
#define CORO_ARCH_ASM_NAME(name) CORO_ARCH_PREFIXED(__USER_LABEL_PREFIX__, name)

/* The same function as the core calls it: it passes a result code as the
 * value and returns what the switch returns, with nothing in between, so
 * that the compiler can make the switch a tail call (coro.c, switch_to). */
int coro_arch_switch_result(void **save_sp, void *load_sp, intptr_t result) __asm__(CORO_ARCH_ASM_NAME(coro_arch_switch));
void *coro_arch_make(void *stack_top, void *stack_bottom, coro_arch_start_fn start, void *arg);

#if defined(_WIN64)
/* Win64 only: gives the fresh frame at sp (from make) a stack guarantee:
 * DeallocationStack becomes deallocation_stack, GuaranteedStackBytes
 * guaranteed. For stacks with a dispatch reserve (stack.h). */
void coro_arch_set_guarantee(void *sp, void *deallocation_stack, uint32_t guaranteed);
#endif

#endif /* __ASSEMBLER__ */

#endif /* CORO_ARCH_H */
