def first_and_last(items: list[str]) -> list[str]:
    first = items[0]
    last = items[-1]
    return [first, last]
