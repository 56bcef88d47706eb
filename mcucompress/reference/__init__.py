"""numpy reference executor: the int8 oracle that the C kernels and the firmware must match bit for bit."""
