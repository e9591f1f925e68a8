def product_of(numbers: list[int]) -> int:
    result = 1
    for n in numbers:
        result *= n
    return result
