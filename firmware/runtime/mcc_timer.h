/*
 * Tick counter of the firmware harness: SysTick at the processor clock with an interrupt counting
 * 24-bit wraps, or DWT->CYCCNT extended to 64 bits (M3 and up, real silicon; it reads 0 in QEMU).
 * Chosen at build time by MCC_TIMER_DWT from the generated mcc_board_config.h.
 */
#ifndef MCC_TIMER_H
#define MCC_TIMER_H

#include <stdint.h>

#define MCC_TIMER_KIND_SYSTICK 0u
#define MCC_TIMER_KIND_DWT 1u

/** Start the counter and enable interrupts (SysTick counts wraps in its handler). */
void mcc_timer_init(void);

/** Monotonic ticks since mcc_timer_init(), 64 bits so that long runs never wrap. */
uint64_t mcc_timer_now(void);

/** Wait for the next SysTick tick edge, so that an interval measured from here is deterministic under
 * QEMU -icount (no +-1 tick jitter from the phase of the start); a no-op with DWT. */
void mcc_timer_sync(void);

/** MCC_TIMER_KIND_SYSTICK or MCC_TIMER_KIND_DWT. */
uint32_t mcc_timer_kind(void);

#endif /* MCC_TIMER_H */
