/*
 * Every callee-saved register of the ABI survives a switch, in both
 * directions. The switch is driven directly (the arch contract, not the
 * public API): a C function in between would save and restore some of these
 * registers itself and hide a switch that drops them.
 *
 * regs_switch (tests/arch/regs_<abi>.S) fills every callee-saved register
 * with a sentinel, switches, and records what the registers hold once
 * control comes back. The resumer and the coroutine use different
 * sentinels, so each side's registers are clobbered while the other runs.
 */
#include <fenv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "arch.h"
#include "coro.h"
#include "stack.h"

void regs_switch(void **save_sp, void *load_sp, void *value, const uint64_t *fill, uint64_t *seen);

#define ALL ~(uint64_t)0

#if defined(__x86_64__) && !defined(_WIN64)
/* MXCSR: only bits 6-15 (DAZ, exception masks, rounding, FZ) are callee-saved;
 * bits 0-5 are status flags. The sentinels keep every exception masked. */
static const char *const regs_names[] = {"rbx", "rbp", "r12", "r13", "r14", "r15", "mxcsr", "x87 cw", "rsp"};
#if CORO_FP_CONTROL
static const uint64_t regs_mask[] = {ALL, ALL, ALL, ALL, ALL, ALL, 0xffc0, 0xffff, ALL};
#else
/* -Dfp_control=false: the FP control state is the thread's, not checked. */
static const uint64_t regs_mask[] = {ALL, ALL, ALL, ALL, ALL, ALL, 0, 0, ALL};
#endif
static const uint64_t fill_resumer[] = {
    0x1111111111111111, 0x2222222222222222, 0x3333333333333333, 0x4444444444444444,
    0x5555555555555555, 0x6666666666666666, 0x3f80 /* round down */, 0x077f /* round down */, 0};
static const uint64_t fill_coroutine[] = {
    0xa1a1a1a1a1a1a1a1, 0xb2b2b2b2b2b2b2b2, 0xc3c3c3c3c3c3c3c3, 0xd4d4d4d4d4d4d4d4,
    0xe5e5e5e5e5e5e5e5, 0xf6f6f6f6f6f6f6f6, 0xdfc0 /* FZ, DAZ, round up */, 0x0e7f /* chop, 53-bit */, 0};
#elif defined(__riscv) && __riscv_xlen == 64
/* "ra" is the call site the switch returned to (see regs_riscv64.S): the two
 * sides call from different sites. fs0-fs11 hold bit patterns, not numbers:
 * fld/fsd move them unchanged. frm: 2 is round down, 3 round up. */
#if defined(__riscv_flen) && __riscv_flen == 32
#define FS ((uint64_t)0xffffffff)
#else
#define FS ALL
#endif
static const char *const regs_names[] = {
    "ra (call site)", "sp", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
#if defined(__riscv_flen)
    "fs0", "fs1", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "frm",
#endif
};
static const uint64_t regs_mask[] = {
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
#if defined(__riscv_flen)
    FS, FS, FS, FS, FS, FS, FS, FS, FS, FS, FS, FS, 0x7,
#endif
};
static const uint64_t fill_resumer[] = {
    0, 0,
    0x0101010101010100, 0x0101010101010101, 0x0101010101010102, 0x0101010101010103,
    0x0101010101010104, 0x0101010101010105, 0x0101010101010106, 0x0101010101010107,
    0x0101010101010108, 0x0101010101010109, 0x010101010101010a, 0x010101010101010b,
#if defined(__riscv_flen)
    0x4010101010101010, 0x4011111111111111, 0x4012121212121212, 0x4013131313131313,
    0x4014141414141414, 0x4015151515151515, 0x4016161616161616, 0x4017171717171717,
    0x4018181818181818, 0x4019191919191919, 0x401a1a1a1a1a1a1a, 0x401b1b1b1b1b1b1b,
    2,
#endif
};
static const uint64_t fill_coroutine[] = {
    1, 0,
    0xc5c5c5c5c5c5c500, 0xc5c5c5c5c5c5c501, 0xc5c5c5c5c5c5c502, 0xc5c5c5c5c5c5c503,
    0xc5c5c5c5c5c5c504, 0xc5c5c5c5c5c5c505, 0xc5c5c5c5c5c5c506, 0xc5c5c5c5c5c5c507,
    0xc5c5c5c5c5c5c508, 0xc5c5c5c5c5c5c509, 0xc5c5c5c5c5c5c50a, 0xc5c5c5c5c5c5c50b,
#if defined(__riscv_flen)
    0xc0e0e0e0e0e0e0e0, 0xc0e1e1e1e1e1e1e1, 0xc0e2e2e2e2e2e2e2, 0xc0e3e3e3e3e3e3e3,
    0xc0e4e4e4e4e4e4e4, 0xc0e5e5e5e5e5e5e5, 0xc0e6e6e6e6e6e6e6, 0xc0e7e7e7e7e7e7e7,
    0xc0e8e8e8e8e8e8e8, 0xc0e9e9e9e9e9e9e9, 0xc0eaeaeaeaeaeaea, 0xc0ebebebebebebeb,
    3,
#endif
};
#elif defined(__x86_64__) && defined(_WIN64)
/* Microsoft x64: xmm6-xmm15 are nonvolatile in all 128 bits, so each takes
 * two entries (low half, then high half). MXCSR and CW as on System V. */
static const char *const regs_names[] = {
    "rbx", "rbp", "rdi", "rsi", "r12", "r13", "r14", "r15",
    "xmm6 low", "xmm6 high", "xmm7 low", "xmm7 high", "xmm8 low", "xmm8 high",
    "xmm9 low", "xmm9 high", "xmm10 low", "xmm10 high", "xmm11 low", "xmm11 high",
    "xmm12 low", "xmm12 high", "xmm13 low", "xmm13 high", "xmm14 low", "xmm14 high",
    "xmm15 low", "xmm15 high", "mxcsr", "x87 cw", "rsp"};
static const uint64_t regs_mask[] = {
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
    0xffc0, 0xffff, ALL};
static const uint64_t fill_resumer[] = {
    0x1111111111111111, 0x2222222222222222, 0x3333333333333333, 0x4444444444444444,
    0x5555555555555555, 0x6666666666666666, 0x7777777777777777, 0x8888888888888888,
    0x0606060606060606, 0x6060606060606060, 0x0707070707070707, 0x7070707070707070,
    0x0808080808080808, 0x8080808080808080, 0x0909090909090909, 0x9090909090909090,
    0x0a0a0a0a0a0a0a0a, 0xa0a0a0a0a0a0a0a0, 0x0b0b0b0b0b0b0b0b, 0xb0b0b0b0b0b0b0b0,
    0x0c0c0c0c0c0c0c0c, 0xc0c0c0c0c0c0c0c0, 0x0d0d0d0d0d0d0d0d, 0xd0d0d0d0d0d0d0d0,
    0x0e0e0e0e0e0e0e0e, 0xe0e0e0e0e0e0e0e0, 0x0f0f0f0f0f0f0f0f, 0xf0f0f0f0f0f0f0f0,
    0x3f80 /* round down */, 0x077f /* round down */, 0};
static const uint64_t fill_coroutine[] = {
    0xa1a1a1a1a1a1a1a1, 0xb2b2b2b2b2b2b2b2, 0xc3c3c3c3c3c3c3c3, 0xd4d4d4d4d4d4d4d4,
    0xe5e5e5e5e5e5e5e5, 0xf6f6f6f6f6f6f6f6, 0x1717171717171717, 0x2828282828282828,
    0x6a6a6a6a6a6a6a6a, 0x6b6b6b6b6b6b6b6b, 0x7a7a7a7a7a7a7a7a, 0x7b7b7b7b7b7b7b7b,
    0x8a8a8a8a8a8a8a8a, 0x8b8b8b8b8b8b8b8b, 0x9a9a9a9a9a9a9a9a, 0x9b9b9b9b9b9b9b9b,
    0xaaaaaaaaaaaaaaaa, 0xabababababababab, 0xbabababababababa, 0xbbbbbbbbbbbbbbbb,
    0xcacacacacacacaca, 0xcbcbcbcbcbcbcbcb, 0xdadadadadadadada, 0xdbdbdbdbdbdbdbdb,
    0xeaeaeaeaeaeaeaea, 0xebebebebebebebeb, 0xfafafafafafafafa, 0xfbfbfbfbfbfbfbfb,
    0xdfc0 /* FZ, DAZ, round up */, 0x0e7f /* chop, 53-bit */, 0};
#elif defined(__arm__)
/* Core registers are 32 bits wide: only the low half of their entries is
 * used. "lr" is the call site the switch returned to (see regs_arm.S);
 * 0 and 1 are the two sites, not register contents. Of the FPSCR, the test
 * sets the control bits every VFPv3 implements: AHP, DN, FZ and the
 * rounding mode (26-22); the trap enables read as zero on most cores. */
#define CORE 0xffffffffu
static const char *const regs_names[] = {
    "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11",
#if defined(__ARM_FP)
    "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15", "fpscr",
#endif
    "lr", "sp"};
static const uint64_t regs_mask[] = {
    CORE, CORE, CORE, CORE, CORE, CORE, CORE, CORE,
#if defined(__ARM_FP)
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, 0x07c00000,
#endif
    ALL, ALL};
static const uint64_t fill_resumer[] = {
    0x44444444, 0x55555555, 0x66666666, 0x77777777, 0x88888888, 0x99999999, 0xaaaaaaaa, 0xbbbbbbbb,
#if defined(__ARM_FP)
    0x0808080808080808, 0x0909090909090909, 0x1010101010101010, 0x1111111111111111,
    0x1212121212121212, 0x1313131313131313, 0x1414141414141414, 0x1515151515151515,
    0x00800000 /* round toward minus infinity */,
#endif
    0, 0};
static const uint64_t fill_coroutine[] = {
    0xc4c4c4c4, 0xc5c5c5c5, 0xc6c6c6c6, 0xc7c7c7c7, 0xc8c8c8c8, 0xc9c9c9c9, 0xcacacaca, 0xcbcbcbcb,
#if defined(__ARM_FP)
    0xd8d8d8d8d8d8d8d8, 0xd9d9d9d9d9d9d9d9, 0xdadadadadadadada, 0xdbdbdbdbdbdbdbdb,
    0xdcdcdcdcdcdcdcdc, 0xdddddddddddddddd, 0xdededededededede, 0xdfdfdfdfdfdfdfdf,
    0x07400000 /* AHP, default NaN, flush to zero, round toward plus infinity */,
#endif
    1, 0};
#elif defined(__aarch64__)
/* FPCR: only the mode bits the AAPCS64 lets <fenv.h> change (0-1, 8-12,
 * 22-24) are carried per context. The sentinels keep every trap disabled. */
static const char *const regs_names[] = {
    "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29",
    "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15", "fpcr", "sp"};
static const uint64_t regs_mask[] = {
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, 0x01c01f03, ALL};
static const uint64_t fill_resumer[] = {
    0x1919191919191919, 0x2020202020202020, 0x2121212121212121, 0x2222222222222222,
    0x2323232323232323, 0x2424242424242424, 0x2525252525252525, 0x2626262626262626,
    0x2727272727272727, 0x2828282828282828, 0x2929292929292929,
    0x0808080808080808, 0x0909090909090909, 0x1010101010101010, 0x1111111111111111,
    0x1212121212121212, 0x1313131313131313, 0x1414141414141414, 0x1515151515151515,
    0x00800000 /* round down */, 0};
static const uint64_t fill_coroutine[] = {
    0xa19a19a19a19a19a, 0xa20a20a20a20a20a, 0xa21a21a21a21a21a, 0xa22a22a22a22a22a,
    0xa23a23a23a23a23a, 0xa24a24a24a24a24a, 0xa25a25a25a25a25a, 0xa26a26a26a26a26a,
    0xa27a27a27a27a27a, 0xa28a28a28a28a28a, 0xa29a29a29a29a29a,
    0xd08d08d08d08d08d, 0xd09d09d09d09d09d, 0xd10d10d10d10d10d, 0xd11d11d11d11d11d,
    0xd12d12d12d12d12d, 0xd13d13d13d13d13d, 0xd14d14d14d14d14d, 0xd15d15d15d15d15d,
    0x01400000 /* flush to zero, round up */, 0};
#elif defined(__s390x__)
/* "r14" is the call site the switch returned to (see regs_s390x.S): the two
 * sides call from different sites. f8-f15 hold bit patterns, not numbers:
 * ld/std move them unchanged. Of the FPC only the control fields are carried
 * per context (src/arch/s390x.S): the IEEE masks, the DFP and the BFP
 * rounding modes. BFP rounding 3 is toward minus infinity, 2 toward plus
 * infinity; the coroutine's sentinel enables the inexact trap, which nothing
 * between its switches can raise. */
static const char *const regs_names[] = {
    "r14 (call site)", "r15", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "r13",
    "f8", "f9", "f10", "f11", "f12", "f13", "f14", "f15", "fpc"};
static const uint64_t regs_mask[] = {
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, 0xfc000077};
static const uint64_t fill_resumer[] = {
    0, 0,
    0x0606060606060606, 0x0707070707070707, 0x0808080808080808, 0x0909090909090909,
    0x1010101010101010, 0x1111111111111111, 0x1212121212121212, 0x1313131313131313,
    0x4008080808080808, 0x4009090909090909, 0x4010101010101010, 0x4011111111111111,
    0x4012121212121212, 0x4013131313131313, 0x4014141414141414, 0x4015151515151515,
    0x00000013 /* DFP rounding 1, BFP round down */};
static const uint64_t fill_coroutine[] = {
    1, 0,
    0xa6a6a6a6a6a6a6a6, 0xa7a7a7a7a7a7a7a7, 0xa8a8a8a8a8a8a8a8, 0xa9a9a9a9a9a9a9a9,
    0xaaaaaaaaaaaaaaaa, 0xabababababababab, 0xacacacacacacacac, 0xadadadadadadadad,
    0xc8f8f8f8f8f8f8f8, 0xc9f9f9f9f9f9f9f9, 0xcafafafafafafafa, 0xcbfbfbfbfbfbfbfb,
    0xccfcfcfcfcfcfcfc, 0xcdfdfdfdfdfdfdfd, 0xcefefefefefefefe, 0xcfffffffffffffff,
    0x08000042 /* inexact trap, DFP rounding 4, BFP round up */};
#elif defined(__powerpc64__)
/* "lr" is the call site the switch returned to (see regs_ppc64_elfv2.S):
 * the two sides call from different sites. r2 (the TOC pointer) holds a
 * sentinel too: the switch carries it per context. f14-f31 and v20-v31 hold
 * bit patterns, not numbers; each vector register takes two entries. Of CR
 * only the nonvolatile fields CR2-CR4 are checked, of the FPSCR the control
 * byte (enables, NI, RN) that src/arch/ppc64_elfv2.S carries per context. */
static const char *const regs_names[] = {
    "lr (call site)", "r1", "r2", "r14", "r15", "r16",
    "r17", "r18", "r19", "r20", "r21", "r22",
    "r23", "r24", "r25", "r26", "r27", "r28",
    "r29", "r30", "r31", "f14", "f15", "f16",
    "f17", "f18", "f19", "f20", "f21", "f22",
    "f23", "f24", "f25", "f26", "f27", "f28",
    "f29", "f30", "f31", "v20 dw0", "v20 dw1", "v21 dw0",
    "v21 dw1", "v22 dw0", "v22 dw1", "v23 dw0", "v23 dw1", "v24 dw0",
    "v24 dw1", "v25 dw0", "v25 dw1", "v26 dw0", "v26 dw1", "v27 dw0",
    "v27 dw1", "v28 dw0", "v28 dw1", "v29 dw0", "v29 dw1", "v30 dw0",
    "v30 dw1", "v31 dw0", "v31 dw1", "vrsave", "cr", "fpscr"};
static const uint64_t regs_mask[] = {
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
    0xffffffff, 0x00fff000, 0xff};
static const uint64_t fill_resumer[] = {
    0, 0, 0x0202020202020202, 0x1414141414141414,
    0x1515151515151515, 0x1616161616161616, 0x1717171717171717, 0x1818181818181818,
    0x1919191919191919, 0x2020202020202020, 0x2121212121212121, 0x2222222222222222,
    0x2323232323232323, 0x2424242424242424, 0x2525252525252525, 0x2626262626262626,
    0x2727272727272727, 0x2828282828282828, 0x2929292929292929, 0x3030303030303030,
    0x3131313131313131, 0x4014141414141414, 0x4015151515151515, 0x4016161616161616,
    0x4017171717171717, 0x4018181818181818, 0x4019191919191919, 0x4020202020202020,
    0x4021212121212121, 0x4022222222222222, 0x4023232323232323, 0x4024242424242424,
    0x4025252525252525, 0x4026262626262626, 0x4027272727272727, 0x4028282828282828,
    0x4029292929292929, 0x4030303030303030, 0x4031313131313131, 0x2020202020202000,
    0x2020202020202001, 0x2121212121212100, 0x2121212121212101, 0x2222222222222200,
    0x2222222222222201, 0x2323232323232300, 0x2323232323232301, 0x2424242424242400,
    0x2424242424242401, 0x2525252525252500, 0x2525252525252501, 0x2626262626262600,
    0x2626262626262601, 0x2727272727272700, 0x2727272727272701, 0x2828282828282800,
    0x2828282828282801, 0x2929292929292900, 0x2929292929292901, 0x3030303030303000,
    0x3030303030303001, 0x3131313131313100, 0x3131313131313101, 0x12345678,
    0x00a5c000, 0x03 /* round toward minus infinity */};
static const uint64_t fill_coroutine[] = {
    1, 0, 0xc2c2c2c2c2c2c2c2, 0xa0a0a0a0a0a0a0a0,
    0xa1a1a1a1a1a1a1a1, 0xa2a2a2a2a2a2a2a2, 0xa3a3a3a3a3a3a3a3, 0xa4a4a4a4a4a4a4a4,
    0xa5a5a5a5a5a5a5a5, 0xa6a6a6a6a6a6a6a6, 0xa7a7a7a7a7a7a7a7, 0xa8a8a8a8a8a8a8a8,
    0xa9a9a9a9a9a9a9a9, 0xaaaaaaaaaaaaaaaa, 0xabababababababab, 0xacacacacacacacac,
    0xadadadadadadadad, 0xaeaeaeaeaeaeaeae, 0xafafafafafafafaf, 0xb0b0b0b0b0b0b0b0,
    0xb1b1b1b1b1b1b1b1, 0xc0d0d0d0d0d0d0d0, 0xc0d1d1d1d1d1d1d1, 0xc0d2d2d2d2d2d2d2,
    0xc0d3d3d3d3d3d3d3, 0xc0d4d4d4d4d4d4d4, 0xc0d5d5d5d5d5d5d5, 0xc0d6d6d6d6d6d6d6,
    0xc0d7d7d7d7d7d7d7, 0xc0d8d8d8d8d8d8d8, 0xc0d9d9d9d9d9d9d9, 0xc0dadadadadadada,
    0xc0dbdbdbdbdbdbdb, 0xc0dcdcdcdcdcdcdc, 0xc0dddddddddddddd, 0xc0dedededededede,
    0xc0dfdfdfdfdfdfdf, 0xc0e0e0e0e0e0e0e0, 0xc0e1e1e1e1e1e1e1, 0x94949494949494f0,
    0x94949494949494f1, 0x95959595959595f0, 0x95959595959595f1, 0x96969696969696f0,
    0x96969696969696f1, 0x97979797979797f0, 0x97979797979797f1, 0x98989898989898f0,
    0x98989898989898f1, 0x99999999999999f0, 0x99999999999999f1, 0x9a9a9a9a9a9a9af0,
    0x9a9a9a9a9a9a9af1, 0x9b9b9b9b9b9b9bf0, 0x9b9b9b9b9b9b9bf1, 0x9c9c9c9c9c9c9cf0,
    0x9c9c9c9c9c9c9cf1, 0x9d9d9d9d9d9d9df0, 0x9d9d9d9d9d9d9df1, 0x9e9e9e9e9e9e9ef0,
    0x9e9e9e9e9e9e9ef1, 0x9f9f9f9f9f9f9ff0, 0x9f9f9f9f9f9f9ff1, 0x8badf00d,
    0x005a3000, 0x26 /* underflow trap enabled, non-IEEE mode, round toward plus infinity */};
#elif defined(__i386__)
/* Registers are 32 bits wide: only the low half of their entries is used.
 * The x87 control word as on x86-64; MXCSR (control bits 6-15) only when
 * built with SSE, as src/arch/i386.S saves it only then. */
#define WORD 0xffffffffu
static const char *const regs_names[] = {"ebx", "ebp", "esi", "edi", "esp", "x87 cw",
#if defined(__SSE__)
                                         "mxcsr",
#endif
};
static const uint64_t regs_mask[] = {WORD, WORD, WORD, WORD, WORD, 0xffff,
#if defined(__SSE__)
                                     0xffc0,
#endif
};
static const uint64_t fill_resumer[] = {0x33333333, 0x55555555, 0x66666666, 0x77777777, 0,
                                        0x077f /* round down */,
#if defined(__SSE__)
                                        0x3f80 /* round down */,
#endif
};
static const uint64_t fill_coroutine[] = {0xc3c3c3c3, 0xc5c5c5c5, 0xc6c6c6c6, 0xc7c7c7c7, 0,
                                          0x0e7f /* chop, 53-bit */,
#if defined(__SSE__)
                                          0xdfc0 /* FZ, DAZ, round up */,
#endif
};
#elif defined(__mips64) && defined(_MIPS_SIM) && _MIPS_SIM == _ABI64
/* "ra" is the call site the switch returned to (see regs_mips64_n64.S): the
 * two sides call from different sites. f24-f31 hold bit patterns (ldc1/sdc1
 * move them unchanged). FCSR: the control bits src/arch/mips64_n64.S
 * carries (FS, enables, RM); the sentinels set RM and FS, no enable. */
static const char *const regs_names[] = {
    "ra (call site)", "sp", "fp", "gp", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7",
    "f24", "f25", "f26", "f27", "f28", "f29", "f30", "f31", "fcsr"};
static const uint64_t regs_mask[] = {
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL,
    ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL, 0x01000f83};
static const uint64_t fill_resumer[] = {
    0, 0, 0x3030303030303030, 0x2828282828282828,
    0x1616161616161616, 0x1717171717171717, 0x1818181818181818, 0x1919191919191919,
    0x2020202020202020, 0x2121212121212121, 0x2222222222222222, 0x2323232323232323,
    0x4024242424242424, 0x4025252525252525, 0x4026262626262626, 0x4027272727272727,
    0x4028282828282828, 0x4029292929292929, 0x4030303030303030, 0x4031313131313131,
    3 /* round toward minus infinity */};
static const uint64_t fill_coroutine[] = {
    1, 0, 0xf30f30f30f30f30f, 0xe28e28e28e28e28e,
    0xa16a16a16a16a16a, 0xa17a17a17a17a17a, 0xa18a18a18a18a18a, 0xa19a19a19a19a19a,
    0xa20a20a20a20a20a, 0xa21a21a21a21a21a, 0xa22a22a22a22a22a, 0xa23a23a23a23a23a,
    0xc024c024c024c024, 0xc025c025c025c025, 0xc026c026c026c026, 0xc027c027c027c027,
    0xc028c028c028c028, 0xc029c029c029c029, 0xc030c030c030c030, 0xc031c031c031c031,
    0x01000002 /* flush to zero, round toward plus infinity */};
#else
#error "test_registers: no register table for this architecture"
#endif

#define REGS_COUNT (sizeof regs_names / sizeof regs_names[0])

static void *resumer_sp;
static void *coroutine_sp;
static uint64_t seen_by_coroutine[REGS_COUNT];
static uint64_t seen_by_resumer[REGS_COUNT];
static int coroutine_rounds;

static int check_registers(const char *side, const uint64_t *fill, const uint64_t *seen)
{
    int bad = 0;
    for (size_t i = 0; i < REGS_COUNT; i++) {
        if ((fill[i] & regs_mask[i]) != (seen[i] & regs_mask[i])) {
            print_error("%s: %s was 0x%llx, now 0x%llx\n", side, regs_names[i],
                        (unsigned long long)(fill[i] & regs_mask[i]),
                        (unsigned long long)(seen[i] & regs_mask[i]));
            bad++;
        }
    }
    return bad;
}

/* The coroutine side: enters with fresh registers from the trampoline, then
 * switches back and forth with its own sentinels. */
static void coroutine_side(void *value, void *arg)
{
    (void)arg;
    for (;;) {
        regs_switch(&coroutine_sp, resumer_sp, value, fill_coroutine, seen_by_coroutine);
        coroutine_rounds++;
        value = NULL;
    }
}

static void test_every_callee_saved_register_survives(void **state)
{
    (void)state;
    struct coro_stack stack;
    assert_int_equal(coro_stack_map(&stack, 64 * 1024, coro_stack_page_size()), CORO_OK);
    coroutine_sp = coro_arch_make(stack.top, stack.bottom, coroutine_side, NULL);

    int bad = 0;
    for (int round = 0; round < 3; round++) {
        regs_switch(&resumer_sp, coroutine_sp, NULL, fill_resumer, seen_by_resumer);
        bad += check_registers("resumer", fill_resumer, seen_by_resumer);
        if (round > 0)
            bad += check_registers("coroutine", fill_coroutine, seen_by_coroutine);
    }
    assert_int_equal(coroutine_rounds, 2);
    assert_int_equal(bad, 0);
    coro_stack_unmap(&stack);
}

/* The value passed by a switch arrives on the other side, first through the
 * trampoline, then as the switch's return value. */
static void *value_resumer_sp;
static void *value_coroutine_sp;
static void value_side(void *value, void *arg)
{
    assert_ptr_equal(arg, &value_resumer_sp);
    for (;;)
        value = coro_arch_switch(&value_coroutine_sp, value_resumer_sp, (void *)((uintptr_t)value + 1));
}

static void test_switch_passes_values(void **state)
{
    (void)state;
    struct coro_stack stack;
    assert_int_equal(coro_stack_map(&stack, 64 * 1024, coro_stack_page_size()), CORO_OK);
    value_coroutine_sp = coro_arch_make(stack.top, stack.bottom, value_side, &value_resumer_sp);
    for (uintptr_t i = 100; i < 110; i++) {
        void *back = coro_arch_switch(&value_resumer_sp, value_coroutine_sp, (void *)i);
        assert_int_equal((uintptr_t)back, i + 1);
    }
    coro_stack_unmap(&stack);
}

/* Through the public API: each context keeps its own rounding mode. */
static void *rounding_entry(void *value)
{
    (void)value;
    fesetround(FE_UPWARD);
    coro_yield(NULL, NULL);
    int mode = fegetround();
    fesetround(FE_TONEAREST);
    return (void *)(intptr_t)mode;
}

static void test_rounding_mode_is_per_context(void **state)
{
    (void)state;
    if (!CORO_FP_CONTROL) {
        print_message("built with -Dfp_control=false: contexts share the rounding mode\n");
        return;
    }
    coro *co;
    assert_int_equal(coro_create(&co, rounding_entry, NULL), CORO_OK);
    fesetround(FE_DOWNWARD);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(fegetround(), FE_DOWNWARD);
    fesetround(FE_TOWARDZERO);
    void *mode_inside;
    assert_int_equal(coro_resume(co, NULL, &mode_inside), CORO_OK);
    assert_int_equal((int)(intptr_t)mode_inside, FE_UPWARD);
    assert_int_equal(fegetround(), FE_TOWARDZERO);
    fesetround(FE_TONEAREST);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

#if defined(__riscv) || defined(__s390x__) || defined(__powerpc64__) || defined(__mips64)
/* The fcsr policy of src/arch/riscv64.S (and the FPC, FPSCR and FCSR
 * policies of s390x.S, ppc64_elfv2.S and mips64_n64.S): the
 * accrued exception flags belong to the thread, so a flag raised on either side of a switch is seen on the
 * other, also when the switch rewrites frm (the two sides round differently). */
static void *raise_inexact_entry(void *value)
{
    (void)value;
    fesetround(FE_UPWARD);
    int saw_resumers_flag = fetestexcept(FE_DIVBYZERO) != 0;
    feraiseexcept(FE_INEXACT);
    return (void *)(intptr_t)saw_resumers_flag;
}

static void test_exception_flags_follow_the_thread(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, raise_inexact_entry, NULL), CORO_OK);
    feclearexcept(FE_ALL_EXCEPT);
    feraiseexcept(FE_DIVBYZERO);
    void *saw_resumers_flag;
    assert_int_equal(coro_resume(co, NULL, &saw_resumers_flag), CORO_OK);
    assert_int_equal((int)(intptr_t)saw_resumers_flag, 1);
    assert_int_equal(fegetround(), FE_TONEAREST);
    assert_true(fetestexcept(FE_INEXACT));
    assert_true(fetestexcept(FE_DIVBYZERO));
    feclearexcept(FE_ALL_EXCEPT);
    assert_int_equal(coro_destroy(co), CORO_OK);
}
#endif

#if defined(__mips64)
/* The FCSR policy of src/arch/mips64_n64.S: a switch that writes the FCSR
 * clears its cause bits (12-17), which describe the last FP instruction
 * only. Writing a cause bit together with its enable raises the exception
 * at once, so a switch that kept them would trap here: the resumer's last
 * FP operation is inexact, and the coroutine it switches to traps on
 * inexact. */
#define FCSR_ENABLE_INEXACT 0x80u
#define FCSR_CAUSE_BITS 0x3f000u

static unsigned read_fcsr(void)
{
    unsigned fcsr;
    __asm__ volatile("cfc1 %0, $31" : "=r"(fcsr));
    return fcsr;
}

static void write_fcsr(unsigned fcsr)
{
    __asm__ volatile("ctc1 %0, $31" : : "r"(fcsr));
}

static void *trap_on_inexact_entry(void *value)
{
    (void)value;
    write_fcsr((read_fcsr() & ~FCSR_CAUSE_BITS) | FCSR_ENABLE_INEXACT);
    coro_yield(NULL, NULL);
    unsigned fcsr = read_fcsr();
    write_fcsr(fcsr & ~FCSR_ENABLE_INEXACT);
    return (void *)(uintptr_t)fcsr;
}

static void test_switch_clears_fcsr_cause_bits(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, trap_on_inexact_entry, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(read_fcsr() & FCSR_ENABLE_INEXACT, 0);
    volatile double third = 1.0;
    third /= 3.0;
    assert_int_not_equal(read_fcsr() & 0x1000u /* cause: inexact */, 0);
    void *fcsr_inside;
    assert_int_equal(coro_resume(co, NULL, &fcsr_inside), CORO_OK);
    assert_int_equal((uintptr_t)fcsr_inside & (FCSR_ENABLE_INEXACT | FCSR_CAUSE_BITS), FCSR_ENABLE_INEXACT);
    assert_int_equal(coro_destroy(co), CORO_OK);
    feclearexcept(FE_ALL_EXCEPT);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_callee_saved_register_survives),
        cmocka_unit_test(test_switch_passes_values),
        cmocka_unit_test(test_rounding_mode_is_per_context),
#if defined(__riscv) || defined(__s390x__) || defined(__powerpc64__) || defined(__mips64)
        cmocka_unit_test(test_exception_flags_follow_the_thread),
#endif
#if defined(__mips64)
        cmocka_unit_test(test_switch_clears_fcsr_cause_bits),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
