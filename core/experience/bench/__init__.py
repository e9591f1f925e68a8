"""`experience bench`: learning, baseline and system figures with their targets, as JSON and markdown.

from experience.bench import BenchOptions, run_bench, write_outputs
result = run_bench(BenchOptions(quick=True))
write_outputs(result, Path("bench/results/quick.json"), None)
"""

from experience.bench.runner import BenchOptions, run_bench, write_outputs

__all__ = ["BenchOptions", "run_bench", "write_outputs"]
