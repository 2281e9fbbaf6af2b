/*
 * The EHABI personality routine of coro_arch_trampoline (arm.S): how libgcc's
 * Arm unwinder walks from a coroutine's root into the context that resumed
 * it. Arm Linux unwinds with the exception-index tables (.ARM.exidx), not
 * with DWARF ("Exception Handling ABI for the Arm Architecture", EHABI):
 * _Unwind_Backtrace, and glibc's backtrace() through it, read those only.
 * Their unwind instructions (EHABI 10.3) can pop registers from the stack
 * and set the virtual stack pointer from a register, but cannot load it from
 * memory, and the resumer's frame lies two loads away (the control block's
 * resumer, then that context's saved stack pointer; src/arch.h). An entry
 * may instead name a personality routine (EHABI 7.2, the generic model),
 * which the unwinder calls to move its virtual registers to the caller's
 * frame: this one does that through the _Unwind_VRS_* interface (EHABI 7.5).
 *
 * It walks on into the resumer only for a backtrace, which calls it with
 * _US_VIRTUAL_UNWIND_FRAME | _US_FORCE_UNWIND, and only when there is a
 * resumer. Everything else ends at the root: an exception's search
 * (_US_VIRTUAL_UNWIND_FRAME alone; control never leaves a coroutine through
 * its root, so the search fails and C++ calls std::terminate), forced
 * unwinding (pthread_exit, pthread_cancel: its stop function is told the
 * stack ends there, and glibc's then leaves for the thread's own exit), and
 * a backtrace of a chain begun by a transfer from the thread. For those the
 * routine moves the unwinder to pc 0, which no table covers: the unwinder
 * ends there as it did when the trampoline's entry said "cannot unwind",
 * and as it ends a thread's stack (_URC_FAILURE for a backtrace or a
 * search, the end-of-stack flag for a forced unwind's stop function).
 *
 * Only the core registers are moved (r4-r11, sp, pc): the walk needs those
 * (frame pointers among them); d8-d15 keep the coroutine's values, which no
 * backtrace reads. The unwinder lives in libgcc_s, which every Arm Linux
 * library with unwind tables needs already (__aeabi_unwind_cpp_pr0).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unwind.h>

#include "../arch.h"

#if !defined(__ARM_EABI_UNWINDER__)
#error "arm_unwind.c: the Arm EHABI unwinder's interface is needed"
#endif

/* Where the switch keeps r4 and the return address in a suspended frame
 * (the frame drawn in arm.S). */
#if defined(__ARM_FP)
#define FRAME_R4 64
#else
#define FRAME_R4 0
#endif
#define FRAME_RETURN_ADDRESS (CORO_ARCH_FRAME_SIZE - 4)

enum { CORE_R4 = 4, CORE_R11 = 11, CORE_SP = 13, CORE_PC = 15 };

_Unwind_Reason_Code coro_arch_unwind_personality(_Unwind_State state, _Unwind_Control_Block *exception,
                                                 _Unwind_Context *context);

static uint32_t word_at(uintptr_t address)
{
    uint32_t word;
    memcpy(&word, (const void *)address, sizeof word);
    return word;
}

static void set_core(_Unwind_Context *context, uint32_t reg, uint32_t value)
{
    _Unwind_VRS_Set(context, _UVRSC_CORE, reg, _UVRSD_UINT32, &value);
}

_Unwind_Reason_Code coro_arch_unwind_personality(_Unwind_State state, _Unwind_Control_Block *exception,
                                                 _Unwind_Context *context)
{
    (void)exception;
    int backtrace = (state & _US_ACTION_MASK) == _US_VIRTUAL_UNWIND_FRAME && (state & _US_FORCE_UNWIND) != 0;

    /* The trampoline keeps the control block at its sp (arm.S). */
    uint32_t sp;
    if (_Unwind_VRS_Get(context, _UVRSC_CORE, CORE_SP, _UVRSD_UINT32, &sp) != _UVRSR_OK)
        return _URC_FAILURE;
    uintptr_t block = word_at(sp);
    uintptr_t resumer = word_at(block + CORO_ARCH_RESUMER_OFFSET);
    if (!backtrace || resumer == 0) {
        set_core(context, CORE_PC, 0);
        return _URC_CONTINUE_UNWIND;
    }
    uintptr_t frame = word_at(resumer);

    for (uint32_t reg = CORE_R4; reg <= CORE_R11; reg++)
        set_core(context, reg, word_at(frame + FRAME_R4 + 4 * (reg - CORE_R4)));
    set_core(context, CORE_SP, (uint32_t)(frame + CORO_ARCH_FRAME_SIZE));
    /* The return address as saved, with the Thumb bit: the unwinder looks
     * its caller up from it as from any popped lr. */
    set_core(context, CORE_PC, word_at(frame + FRAME_RETURN_ADDRESS));
    return _URC_CONTINUE_UNWIND;
}
