def safe_ratio(part: float, whole: float) -> float:
    if whole == 0:
        return 0.0
    if part < 0:
        return 0.0
    return part / whole
