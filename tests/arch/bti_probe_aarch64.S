/*
 * Test helper for test_branch_protection: a function that an indirect call
 * must not be able to enter on a BTI-guarded page, because it does not
 * start with a landing pad. It shows that guarding is really in force.
 *
 * int bti_probe_without_landing_pad(void);
 *                                         -> w0 = 1
 */
    .text
    .globl  bti_probe_without_landing_pad
    .type   bti_probe_without_landing_pad, %function
    .p2align 4
bti_probe_without_landing_pad:
    mov     w0, #1
    ret
    .size   bti_probe_without_landing_pad, .-bti_probe_without_landing_pad

    .section .note.GNU-stack, "", %progbits
