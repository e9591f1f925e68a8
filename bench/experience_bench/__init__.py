"""`experience bench`: learning, baseline and system figures with their targets, as JSON and markdown.

The benchmark package lives beside the library (bench/experience_bench), not in it; `pip install -e '.[bench]'`
installs it with its optional peer (DSPy).

from experience_bench import BenchOptions, run_bench, write_outputs
result = run_bench(BenchOptions(quick=True))
write_outputs(result, Path("bench/results/quick.json"), None)
"""

from experience_bench.runner import BenchOptions, run_bench, write_outputs

__all__ = ["BenchOptions", "run_bench", "write_outputs"]
