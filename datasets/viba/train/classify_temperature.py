def classify_temperature(celsius: float) -> str:
    if celsius > 30:
        return "hot"
    elif celsius > 15:
        return "mild"
    else:
        return "cold"
