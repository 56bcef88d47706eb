/*
 * UART driver for STM32 USART and LPUART, polling. Enables the GPIO port and UART clocks and sets the
 * TX/RX pins to their alternate function from the board's [uart] rcc_enable/gpio fields (passed in
 * mcc_board_config.h), then programs BRR from MCC_CLOCK_HZ.
 * Register layouts: MCC_UART_STM32_REGS 1 = F1/F2/F4 (SR, DR, BRR, CR1 at 0x00-0x0C); 2 = F0/F3/F7/L4
 * and every LPUART (CR1 0x00, CR3 0x08, BRR 0x0C, ISR 0x1C, ICR 0x20, RDR 0x24, TDR 0x28).
 */
#include "mcc_board_config.h"
#include "mcc_cortexm.h"
#include "mcc_uart.h"

#define UART(offset) MCC_REG32(MCC_UART_BASE + (offset))
#define GPIO(offset) MCC_REG32(MCC_GPIO_BASE + (offset))
#define GPIO_MODER 0x00u
#define GPIO_OSPEEDR 0x08u
#define GPIO_PUPDR 0x0Cu
#define GPIO_AFRL 0x20u

#define FLAG_ORE (1u << 3)
#define FLAG_RXNE (1u << 5)
#define FLAG_TC (1u << 6)
#define FLAG_TXE (1u << 7)

#if MCC_UART_STM32_REGS == 1
#define UART_STATUS UART(0x00u)
#define UART_RX UART(0x04u)
#define UART_TX UART(0x04u)
#define UART_BRR UART(0x08u)
#define UART_CR1 UART(0x0Cu)
#define CR1_ENABLE ((1u << 13) | (1u << 3) | (1u << 2)) /* UE, TE, RE */
#elif MCC_UART_STM32_REGS == 2
#define UART_CR1 UART(0x00u)
#define UART_CR3 UART(0x08u)
#define UART_BRR UART(0x0Cu)
#define UART_STATUS UART(0x1Cu)
#define UART_ICR UART(0x20u)
#define UART_RX UART(0x24u)
#define UART_TX UART(0x28u)
#define CR1_ENABLE ((1u << 3) | (1u << 2) | 1u) /* TE, RE, UE */
#define CR3_OVRDIS (1u << 12)
#else
#error "MCC_UART_STM32_REGS must be 1 (F1/F2/F4 USART) or 2 (F0/F3/F7/L4 USART, LPUART)"
#endif

/* STM32L4: port G is powered from VDDIO2, which must be declared valid (PWR_CR2.IOSV). */
#define L4_RCC_APB1ENR1 MCC_REG32(0x40021058u)
#define L4_RCC_APB1ENR1_PWREN (1u << 28)
#define L4_PWR_CR2 MCC_REG32(0x40007004u)
#define L4_PWR_CR2_IOSV (1u << 9)

static void pin_alternate(uint32_t pin)
{
    uint32_t afr = GPIO_AFRL + 4u * (pin / 8u);
    uint32_t shift = 4u * (pin % 8u);
    GPIO(afr) = (GPIO(afr) & ~(0xFu << shift)) | ((uint32_t)MCC_GPIO_AF << shift);
    GPIO(GPIO_OSPEEDR) |= 0x2u << (2u * pin);
    GPIO(GPIO_MODER) = (GPIO(GPIO_MODER) & ~(0x3u << (2u * pin))) | (0x2u << (2u * pin));
}

void mcc_uart_init(void)
{
#if MCC_UART_PWR_VDDIO2
    L4_RCC_APB1ENR1 |= L4_RCC_APB1ENR1_PWREN;
    (void)L4_RCC_APB1ENR1;
    L4_PWR_CR2 |= L4_PWR_CR2_IOSV;
#endif
    MCC_REG32(MCC_GPIO_RCC_REG) |= 1u << MCC_GPIO_RCC_BIT;
    MCC_REG32(MCC_UART_RCC_REG) |= 1u << MCC_UART_RCC_BIT;
    (void)MCC_REG32(MCC_UART_RCC_REG); /* read back: the clock is running before the first access */
    pin_alternate(MCC_GPIO_TX_PIN);
    pin_alternate(MCC_GPIO_RX_PIN);
    GPIO(GPIO_PUPDR) = (GPIO(GPIO_PUPDR) & ~(0x3u << (2u * MCC_GPIO_RX_PIN))) | (0x1u << (2u * MCC_GPIO_RX_PIN));
    UART_CR1 = 0;
#if MCC_UART_LPUART
    UART_BRR = (uint32_t)((256ull * MCC_CLOCK_HZ + MCC_UART_BAUD / 2u) / MCC_UART_BAUD);
#else
    UART_BRR = (MCC_CLOCK_HZ + MCC_UART_BAUD / 2u) / MCC_UART_BAUD; /* oversampling by 16 */
#endif
#if MCC_UART_STM32_REGS == 2
    UART_CR3 |= CR3_OVRDIS;
#endif
    UART_CR1 = CR1_ENABLE;
}

void mcc_uart_putc(uint8_t byte)
{
    while (!(UART_STATUS & FLAG_TXE)) {
    }
    UART_TX = byte;
}

uint8_t mcc_uart_getc(void)
{
    for (;;) {
        uint32_t status = UART_STATUS;
        if (status & FLAG_RXNE) {
            return (uint8_t)UART_RX;
        }
        if (status & FLAG_ORE) {
#if MCC_UART_STM32_REGS == 1
            (void)UART_RX; /* SR then DR read clears ORE */
#else
            UART_ICR = FLAG_ORE;
#endif
        }
    }
}

void mcc_uart_flush(void)
{
    while (!(UART_STATUS & FLAG_TC)) {
    }
}
