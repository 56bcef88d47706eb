/*
 * Startup for Cortex-M (Armv7-M: M3, M4, M7; Armv8-M mainline: M33, M55): the vector table, and a
 * reset handler that enables the FPU (CPACR, when compiled with __ARM_FP), points VTOR at the table,
 * copies .data from flash, zeroes .bss and calls main(). Symbols come from templates/link.ld.j2.
 */
#include <stdint.h>

#include "mcc_cortexm.h"

typedef void (*mcc_vector)(void);

extern uint32_t __stack_top__;
extern uint32_t __data_load__;
extern uint32_t __data_start__;
extern uint32_t __data_end__;
extern uint32_t __bss_start__;
extern uint32_t __bss_end__;

int main(void);
void Reset_Handler(void) __attribute__((noreturn));
void Default_Handler(void);
void HardFault_Handler(void);
void SysTick_Handler(void);
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));

/* Core exceptions only: the harness polls its UART and uses no peripheral interrupt. */
__attribute__((section(".isr_vector"), used)) const mcc_vector mcc_vectors[16] = {
    (mcc_vector)(uintptr_t)&__stack_top__,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    HardFault_Handler, /* MemManage */
    HardFault_Handler, /* BusFault */
    HardFault_Handler, /* UsageFault */
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    HardFault_Handler, /* SecureFault */
#else
    0,
#endif
    0,
    0,
    0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
};

void Default_Handler(void)
{
    for (;;) {
    }
}

/* Volatile pointers keep gcc from turning the loops into memcpy/memset calls before .data exists. */
void Reset_Handler(void)
{
    volatile uint32_t *src = &__data_load__;
    volatile uint32_t *dst = &__data_start__;
#if defined(__ARM_FP)
    MCC_SCB_CPACR |= 0xFu << 20; /* CP10 and CP11: full access */
    mcc_barrier();
#endif
    MCC_SCB_VTOR = (uint32_t)(uintptr_t)mcc_vectors;
    while (dst < &__data_end__) {
        *dst++ = *src++;
    }
    for (dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0u;
    }
    mcc_barrier();
    (void)main();
    for (;;) {
    }
}
