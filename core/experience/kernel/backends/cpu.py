"""How many threads llama.cpp should use: the physical cores this process may run on, or EXPERIENCE_THREADS."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

THREADS_ENV = "EXPERIENCE_THREADS"
_SYS_CPU = Path("/sys/devices/system/cpu")


def allowed_cpus() -> set[int]:
    """The logical CPUs this process may run on (its affinity mask; all CPUs where that is unknown)."""
    getter = getattr(os, "sched_getaffinity", None)
    if getter is not None:
        try:
            return set(getter(0))
        except OSError:
            pass
    return set(range(os.cpu_count() or 1))


def core_of(cpu: int, root: Path = _SYS_CPU) -> tuple[str, str] | None:
    """(package, core) id of a logical CPU from sysfs topology; None where sysfs does not say."""
    topology = root / f"cpu{cpu}" / "topology"
    try:
        package = (topology / "physical_package_id").read_text().strip()
        core = (topology / "core_id").read_text().strip()
    except OSError:
        return None
    return package, core


def physical_cores(cpus: Iterable[int] | None = None, root: Path = _SYS_CPU) -> int:
    """Distinct physical cores among `cpus` (default: the allowed ones); SMT siblings count once.

    Falls back to the number of logical CPUs where the topology is unreadable.
    """
    logical = sorted(allowed_cpus() if cpus is None else set(cpus))
    if not logical:
        return 1
    cores = [core_of(c, root) for c in logical]
    if any(c is None for c in cores):
        return len(logical)
    return len(set(cores))


def default_threads(env: dict[str, str] | None = None) -> int:
    """EXPERIENCE_THREADS when set (a positive integer), else the physical cores this process may use."""
    value = (os.environ if env is None else env).get(THREADS_ENV, "").strip()
    if value:
        return parse_threads(value, THREADS_ENV)
    return physical_cores()


def parse_threads(value: object, source: str = "n_threads") -> int:
    """A thread count from user input; ValueError naming the source and the fix when it is not a positive int."""
    try:
        count = int(str(value))
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(
            f"{source}={value!r} is not a positive whole number of threads. "
            f"Fix: set it to e.g. {physical_cores()} (the physical cores here), or unset it for that default"
        )
    return count
