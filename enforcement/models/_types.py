"""Small column helpers shared by the models."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    """Timezone-aware now in UTC; stored naive-UTC so SQLite and PostgreSQL agree."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def enum_check(column: str, values) -> str:
    """SQL for a CHECK constraint that keeps a string column inside an enum's values."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"
