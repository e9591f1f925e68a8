def clean_title(text: str) -> str:
    stripped = text.strip()
    return stripped.title()
