def positive_doubles(values: list[int]) -> list[int]:
    return [v * 2 for v in values if v > 0]
