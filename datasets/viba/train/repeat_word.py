def repeat_word(word: str, times: int = 2) -> str:
    return word * times
