def rectangle_perimeter(width: int, height: int) -> int:
    total = width + height
    return total * 2
