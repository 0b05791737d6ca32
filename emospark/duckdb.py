"""``emospark.duckdb.register(con)`` adds ``emotions(text)`` to a DuckDB connection;
see :mod:`emospark.integrations.duckdb`."""
from .integrations.duckdb import register, sql_type

__all__ = ["register", "sql_type"]
