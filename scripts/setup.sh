#!/usr/bin/env bash
# Install everything Experience and its tests need on a fresh machine (idempotent; safe to re-run).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# torch first: this exact version is a CPU wheel that pip finds locally; other specs pull CUDA builds.
"$PY" -m pip install --quiet --disable-pip-version-check torch==2.13.0
# llama-cpp-python compiles llama.cpp (about 6 min on 2 cores, once: pip caches the wheel).
# A portable build that runs on any x86-64 CPU with AVX2.
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON}"
# The ray extra: --executor ray and its tests (tests/core/test_ray_*.py) run on a local Ray instance.
# The editable install also makes experience_bench (bench/experience_bench, `experience bench`) importable;
# its optional peer, DSPy, comes with the bench extra: pip install -e '.[bench]'.
"$PY" -m pip install --quiet --disable-pip-version-check -e '.[test,ray]'
