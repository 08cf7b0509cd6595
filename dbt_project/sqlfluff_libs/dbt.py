"""`dbt.<macro>(...)` for sqlfluff: the SQL dbt-duckdb renders, so the linter sees the real query."""


def dateadd(datepart, interval, from_date_or_timestamp):
    """dbt-duckdb's duckdb__dateadd for the units the models use (month, day, year)."""
    return f"({from_date_or_timestamp} + cast({interval} as bigint) * interval 1 {datepart.lower()})"
