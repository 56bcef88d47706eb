"""Post-training static quantization: calibrate activation ranges on data, emit an int8 fixed-point IR."""
