def sum_of_squares(values: list[int]) -> int:
    total = 0
    for v in values:
        total += v * v
    return total
