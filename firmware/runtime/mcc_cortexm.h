/*
 * Cortex-M core registers used by the harness runtime (SCB, SysTick, DWT, CoreDebug) and interrupt
 * masking helpers. Architectural addresses, identical on Armv7-M and Armv8-M mainline.
 */
#ifndef MCC_CORTEXM_H
#define MCC_CORTEXM_H

#include <stdint.h>

#define MCC_REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

#define MCC_SCB_ICSR MCC_REG32(0xE000ED04u)
#define MCC_SCB_VTOR MCC_REG32(0xE000ED08u)
#define MCC_SCB_CFSR MCC_REG32(0xE000ED28u)
#define MCC_SCB_HFSR MCC_REG32(0xE000ED2Cu)
#define MCC_SCB_MMFAR MCC_REG32(0xE000ED34u)
#define MCC_SCB_BFAR MCC_REG32(0xE000ED38u)
#define MCC_SCB_CPACR MCC_REG32(0xE000ED88u)
#define MCC_SCB_ICSR_PENDSTSET (1u << 26)

#define MCC_SYST_CSR MCC_REG32(0xE000E010u)
#define MCC_SYST_RVR MCC_REG32(0xE000E014u)
#define MCC_SYST_CVR MCC_REG32(0xE000E018u)

#define MCC_DEMCR MCC_REG32(0xE000EDFCu)
#define MCC_DEMCR_TRCENA (1u << 24)
#define MCC_DWT_CTRL MCC_REG32(0xE0001000u)
#define MCC_DWT_CYCCNT MCC_REG32(0xE0001004u)
#define MCC_DWT_LAR MCC_REG32(0xE0001FB0u)

/** Mask interrupts and return the previous PRIMASK. */
static inline uint32_t mcc_irq_save(void)
{
    uint32_t primask;
    __asm volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask) : : "memory");
    return primask;
}

/** Restore a PRIMASK returned by mcc_irq_save(). */
static inline void mcc_irq_restore(uint32_t primask)
{
    __asm volatile("msr primask, %0" : : "r"(primask) : "memory");
}

static inline void mcc_irq_enable(void)
{
    __asm volatile("cpsie i" : : : "memory");
}

static inline void mcc_barrier(void)
{
    __asm volatile("dsb\n\tisb" : : : "memory");
}

#endif /* MCC_CORTEXM_H */
