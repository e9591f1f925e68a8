def is_valid_score(score: int, strict: bool) -> bool:
    return score >= 0 and (score <= 100 or not strict)
