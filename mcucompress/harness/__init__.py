"""Run compiled models: on the host (gcc), in QEMU, or on a board over a serial port."""
