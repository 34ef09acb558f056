"""The demo town (filled in by the demo loader)."""
DEMO_PASSWORD = "demo-pass-2026"
DEMO_LOGINS: list = []


def load_demo() -> bool:
    return False
