"""mcucompress: compile trained neural networks into bit-exact int8 C for Cortex-M microcontrollers."""

__version__ = "0.1.0"
