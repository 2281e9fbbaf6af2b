/*
 * Test helper for test_win64: a frame with a language-specific exception
 * handler, the way compilers that support __try/__except build them
 * (Microsoft Learn, "x64 exception handling": UNW_FLAG_EHANDLER, the
 * handler's address after the unwind codes).
 *
 * void seh_guarded_call(void (*fn)(void *), void *arg);
 *                       rcx                 rdx
 *
 * Calls fn(arg); an exception raised below it is offered to
 * seh_test_handler (test_win64.c) when the dispatcher walks up to this
 * frame, and an unwind through it (longjmp) calls the handler too, as for a
 * __finally block. Either walk reaches this frame only if the thread block
 * says that it lies on the current stack.
 */
    .text
    .globl  seh_guarded_call
    .def    seh_guarded_call; .scl 2; .type 32; .endef
    .p2align 4
seh_guarded_call:
    .seh_proc seh_guarded_call
    .seh_handler seh_test_handler, @except, @unwind
    subq    $40, %rsp
    .seh_stackalloc 40
    .seh_endprologue
    movq    %rcx, %rax
    movq    %rdx, %rcx
    call    *%rax
    nop                                     /* keeps the return address off the epilogue */
    addq    $40, %rsp
    ret
    .seh_endproc
