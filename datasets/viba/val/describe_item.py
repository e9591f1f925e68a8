def describe_item(name: str, price: float) -> str:
    label = name.upper()
    return f"{label} costs {price} dollars"
