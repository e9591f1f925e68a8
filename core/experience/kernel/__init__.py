"""The LLM kernel: backends, task dispatch, response cache, usage ledger and budgets."""

from .backends import BACKENDS, make_backend
from .cache import ResponseCache
from .dispatcher import Kernel
from .types import (
    Backend,
    BackendUnavailable,
    BatchBackend,
    BudgetExceeded,
    Completion,
    KernelError,
    KernelTask,
    Message,
    TransientError,
)
from .usage import Budget, Usage

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendUnavailable",
    "BatchBackend",
    "Budget",
    "BudgetExceeded",
    "Completion",
    "Kernel",
    "KernelError",
    "KernelTask",
    "Message",
    "ResponseCache",
    "TransientError",
    "Usage",
    "make_backend",
]
