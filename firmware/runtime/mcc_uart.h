/*
 * Polling UART interface of the firmware harness. One implementation per UART kind is linked in:
 * target/uart_cmsdk.c (Arm MPS2 CMSDK APB UART) or target/uart_stm32.c (STM32 USART / LPUART).
 * Addresses, baud rate and clock come from the generated mcc_board_config.h.
 */
#ifndef MCC_UART_H
#define MCC_UART_H

#include <stdint.h>

/** Configure pins, clocks and baud rate; afterwards the UART sends and receives. */
void mcc_uart_init(void);

/** Send one byte, waiting while the transmitter is full. */
void mcc_uart_putc(uint8_t byte);

/** Receive one byte, waiting until one arrives. */
uint8_t mcc_uart_getc(void);

/** Wait until every queued byte has left the transmitter (before halting). */
void mcc_uart_flush(void);

#endif /* MCC_UART_H */
