/**
 * @file qemu_startup.c
 * @brief Test-only: minimal bare-metal start-up for QEMU's mps2-an386 (Cortex-M4) with semihosting
 *        output, used by tests/unit/test_c_kernels.py to run the kernels' DSP paths on a real ISA.
 */
#include <stdint.h>

extern int main(void);
extern uint32_t __bss_start__, __bss_end__, __stack_top__;

/** Semihosting call (BKPT 0xAB). */
static int32_t semihost(int32_t op, const void *arg)
{
    register int32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/** Print a NUL-terminated string on the host (SYS_WRITE0). */
void qemu_print(const char *s) { (void)semihost(0x04, s); }

/** Leave QEMU: ADP_Stopped_ApplicationExit (status 0) or ADP_Stopped_RunTimeErrorUnknown (status 1). */
void qemu_exit(int failed)
{
    (void)semihost(0x18, (const void *)(uintptr_t)(failed ? 0x20023 : 0x20026));
    for (;;) {
    }
}

void reset_handler(void)
{
    uint32_t *p;
    for (p = &__bss_start__; p < &__bss_end__; p++) {
        *p = 0;
    }
#if defined(__ARM_FP)
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: enable CP10/CP11 */
    __asm__ volatile("dsb\n isb");
#endif
    qemu_exit(main());
}

static void fault_handler(void)
{
    qemu_print("MCC_QEMU_FAULT\n");
    qemu_exit(1);
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&__stack_top__), reset_handler, fault_handler, fault_handler, fault_handler, fault_handler,
    fault_handler, 0, 0, 0, 0, fault_handler, fault_handler, 0, fault_handler, fault_handler,
};
