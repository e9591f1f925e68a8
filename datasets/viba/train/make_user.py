def make_user(name: str, email: str) -> dict[str, str]:
    return {"name": name, "email": email}
