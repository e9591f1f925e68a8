def min_max(values: list[int]) -> tuple[int, int]:
    return min(values), max(values)
