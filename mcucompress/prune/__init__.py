"""Post-training pruning: unstructured, N:M and channel pruning with recovery, on float or int8 models.

Modules: masks (magnitude ranking), nm (N:M groups), channels (channel groups and their removal through
the graph), sensitivity (per-layer ratios for a global target), recovery (bias correction, layer-wise
reconstruction), floatview (int8 models), api (`prune`), report (per-layer table).
"""
