def squares(numbers: list[int]) -> list[int]:
    return [n * n for n in numbers]
