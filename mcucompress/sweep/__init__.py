"""`mcucompress sweep`: every combination of a grid of compression settings, pruned, quantized, compiled and run
on a board, in local worker processes or as Ray tasks, cached per configuration so a killed sweep resumes.

grid.py reads GRID.toml into configurations, config_cache.py keys and stores finished ones, evaluate.py runs
one configuration, runner.py schedules them, report.py writes results.csv and report.html."""
