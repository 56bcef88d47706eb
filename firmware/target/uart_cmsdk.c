/*
 * UART driver for the Arm CMSDK APB UART (MPS2 / MPS2+ FPGA images, and QEMU's mps2 machines):
 * DATA +0x00, STATE +0x04 (bit 0 TX full, bit 1 RX full), CTRL +0x08 (bit 0 TX enable, bit 1 RX
 * enable), BAUDDIV +0x10 (clock / baud, at least 16).
 */
#include "mcc_board_config.h"
#include "mcc_cortexm.h"
#include "mcc_uart.h"

#define UART_DATA MCC_REG32(MCC_UART_BASE + 0x00u)
#define UART_STATE MCC_REG32(MCC_UART_BASE + 0x04u)
#define UART_CTRL MCC_REG32(MCC_UART_BASE + 0x08u)
#define UART_BAUDDIV MCC_REG32(MCC_UART_BASE + 0x10u)
#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define STATE_OVERRUNS 0xCu

void mcc_uart_init(void)
{
    UART_CTRL = 0;
    UART_BAUDDIV = MCC_CLOCK_HZ / MCC_UART_BAUD;
    UART_STATE = STATE_OVERRUNS; /* write 1 to clear */
    UART_CTRL = 0x3u;
}

void mcc_uart_putc(uint8_t byte)
{
    while (UART_STATE & STATE_TX_FULL) {
    }
    UART_DATA = byte;
}

uint8_t mcc_uart_getc(void)
{
    while (!(UART_STATE & STATE_RX_FULL)) {
    }
    return (uint8_t)UART_DATA;
}

void mcc_uart_flush(void)
{
    while (UART_STATE & STATE_TX_FULL) {
    }
}
