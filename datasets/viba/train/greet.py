def greet(name: str, age: int) -> str:
    return f"Hello, {name}! You are {age}."
