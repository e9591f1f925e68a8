def rounded_average(values: list[float]) -> float:
    return round(sum(values) / len(values), 2)
