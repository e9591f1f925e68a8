def pad_label(text: str, width: int = 10) -> str:
    return text.ljust(width)
