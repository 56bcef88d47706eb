/*
 * Tick counter: SysTick (processor clock, 24-bit, the interrupt counts wraps) or DWT->CYCCNT
 * extended to 64 bits by sampling it at least once per 2^24 cycles from the SysTick interrupt.
 * Under QEMU -icount shift=0 SysTick ticks are virtual time: ticks x (1e9 / clock) = instructions.
 */
#include "mcc_timer.h"

#include "mcc_board_config.h"
#include "mcc_cortexm.h"

#define SYST_RELOAD 0x00FFFFFFu
#define SYST_CSR_ENABLE_TICKINT_CPUCLK 0x7u

static volatile uint32_t systick_wraps;

#if MCC_TIMER_DWT
static uint32_t dwt_last;
static uint32_t dwt_high;

/* Call with interrupts masked (or from the SysTick handler). */
static uint64_t dwt_now_locked(void)
{
    uint32_t cycles = MCC_DWT_CYCCNT;
    if (cycles < dwt_last) {
        dwt_high++;
    }
    dwt_last = cycles;
    return ((uint64_t)dwt_high << 32) | cycles;
}
#endif

void SysTick_Handler(void);

void SysTick_Handler(void)
{
    systick_wraps++;
#if MCC_TIMER_DWT
    (void)dwt_now_locked();
#endif
}

void mcc_timer_init(void)
{
    MCC_SYST_CSR = 0;
    MCC_SYST_RVR = SYST_RELOAD;
    MCC_SYST_CVR = 0;
    MCC_SYST_CSR = SYST_CSR_ENABLE_TICKINT_CPUCLK;
#if MCC_TIMER_DWT
    MCC_DEMCR |= MCC_DEMCR_TRCENA;
    MCC_DWT_LAR = 0xC5ACCE55u; /* Cortex-M7 locks the DWT until this key is written */
    MCC_DWT_CYCCNT = 0;
    MCC_DWT_CTRL |= 1u;
#endif
    mcc_irq_enable();
}

uint64_t mcc_timer_now(void)
{
    uint32_t primask = mcc_irq_save();
#if MCC_TIMER_DWT
    uint64_t now = dwt_now_locked();
#else
    uint32_t wraps = systick_wraps;
    uint32_t value = MCC_SYST_CVR;
    if (MCC_SCB_ICSR & MCC_SCB_ICSR_PENDSTSET) {
        /* The counter reached 0 but the handler has not counted it yet: once it has reloaded, we
         * are in the next period. */
        value = MCC_SYST_CVR;
        if (value != 0u) {
            wraps++;
        }
    }
    uint64_t now = ((uint64_t)wraps << 24) + (SYST_RELOAD - value);
#endif
    mcc_irq_restore(primask);
    return now;
}

void mcc_timer_sync(void)
{
#if !MCC_TIMER_DWT
    uint32_t value = MCC_SYST_CVR;
    while (MCC_SYST_CVR == value) {
    }
#endif
}

uint32_t mcc_timer_kind(void)
{
    return MCC_TIMER_DWT ? MCC_TIMER_KIND_DWT : MCC_TIMER_KIND_SYSTICK;
}
