def evens(numbers: list[int]) -> list[int]:
    return [n for n in numbers if n % 2 == 0]
