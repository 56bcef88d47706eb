"""Integer arithmetic shared by the reference executor and the code generator (TFLM conventions)."""
