/*
 * HardFault reporting: the handler switches to a private stack, sends one unsolicited FAULT frame
 * with the stacked registers (r0-r3, r12, lr, pc, xpsr) and the fault status registers (CFSR, HFSR,
 * MMFAR, BFAR), then halts. MemManage, BusFault and UsageFault (when enabled) land here too.
 *
 * FAULT payload, all u32 LE: r0 r1 r2 r3 r12 lr pc xpsr cfsr hfsr mmfar bfar exc_return ipsr flags
 * (flags bit 0: the stacked frame was inside RAM and the first eight words are valid).
 */
#include <stdint.h>

#include "mcc_cortexm.h"
#include "mcc_proto.h"
#include "mcc_uart.h"

#define FAULT_WORDS 15u

extern uint32_t __ram_start__;
extern uint32_t __ram_end__;

/* The fault handler's own stack, so a fault report works even after a main-stack overflow: a section of the
 * linker script (templates/link.ld.j2), sized from the static bound of mcc_fault_report's calls. */
extern uint32_t __fault_stack_top__;

void mcc_fault_report(const uint32_t *frame, uint32_t exc_return) __attribute__((noreturn, used));
void HardFault_Handler(void) __attribute__((naked));

void mcc_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    uint8_t payload[FAULT_WORDS * 4u];
    uint32_t words[FAULT_WORDS];
    uint32_t ipsr;
    uint32_t frame_addr = (uint32_t)(uintptr_t)frame;
    uint32_t valid = frame_addr >= (uint32_t)(uintptr_t)&__ram_start__ &&
                     frame_addr + 32u <= (uint32_t)(uintptr_t)&__ram_end__ && (frame_addr & 3u) == 0u;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    for (uint32_t i = 0; i < 8u; i++) {
        words[i] = valid ? frame[i] : 0u;
    }
    words[8] = MCC_SCB_CFSR;
    words[9] = MCC_SCB_HFSR;
    words[10] = MCC_SCB_MMFAR;
    words[11] = MCC_SCB_BFAR;
    words[12] = exc_return;
    words[13] = ipsr & 0x1FFu;
    words[14] = valid ? 1u : 0u;
    for (uint32_t i = 0; i < FAULT_WORDS; i++) {
        mcc_put_u32(payload + 4u * i, words[i]);
    }
    mcc_proto_send(MCC_MSG_FAULT, 0, payload, sizeof payload, (const uint8_t *)0, 0);
    mcc_uart_flush();
    for (;;) {
        __asm volatile("wfi");
    }
}

void HardFault_Handler(void)
{
    __asm volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "mov r1, lr\n\t"
        "ldr r2, =__fault_stack_top__\n\t"
        "mov sp, r2\n\t"
        "b mcc_fault_report\n\t"
        ".ltorg\n\t");
}
