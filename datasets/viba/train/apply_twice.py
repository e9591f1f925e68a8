from collections.abc import Callable


def apply_twice(f: Callable[[int], int], x: int) -> int:
    return f(f(x))
