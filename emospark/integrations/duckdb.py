"""DuckDB: ``emospark.duckdb.register(con)`` adds the SQL function ``emotions(text)``.

>>> import duckdb, emospark.duckdb
>>> con = emospark.duckdb.register(duckdb.connect())
>>> con.sql("SELECT emotions('Thank you so much!').top AS top, emotions(NULL).top AS none").fetchall()
[('gratitude', None)]
>>> con.sql("SELECT e.labels FROM (SELECT emotions(t) AS e FROM (VALUES ('I love it, thanks!')) v(t))").fetchall()
[(['gratitude', 'love'],)]

The function returns the one result schema (:mod:`emospark.core.schema`) as a STRUCT.
It is a vectorised Arrow UDF: DuckDB hands it chunks of up to 2,048 rows, each scored by
one :func:`~emospark.core.scoring.score_arrow` call. NULL texts reach it (``null_handling=
"special"``) and give the same row as everywhere else (null ``top`` and scores, no labels)
instead of DuckDB's all-NULL struct. A column that is not text (VARCHAR, ENUM or NULL) is
refused with an ``emospark:`` message: ``emotions`` is a macro that checks the argument's
type before calling the UDF ``<name>__score(VARCHAR)``, so an INTEGER is never silently
scored as its digits.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from ..core.model import EmotionModel
from ..core.model_cache import ModelRef, cached_model
from ..core.schema import SCHEMA_VERSION
from ..core.scoring import Threshold, score_arrow, score_type
from ..errors import UsageError, require

duckdb = require("duckdb", "duckdb", "the DuckDB function (emospark.duckdb.register)")


def sql_type(t: pa.DataType) -> str:
    """The DuckDB SQL spelling of a result Arrow type.

    >>> sql_type(pa.struct([("top", pa.string()), ("labels", pa.list_(pa.string())), ("s", pa.float32())]))
    'STRUCT("top" VARCHAR, "labels" VARCHAR[], "s" FLOAT)'
    """
    if pa.types.is_struct(t):
        return "STRUCT(" + ", ".join(f'"{f.name}" {sql_type(f.type)}' for f in t) + ")"
    if pa.types.is_list(t):
        return f"{sql_type(t.value_type)}[]"
    if pa.types.is_string(t):
        return "VARCHAR"
    if pa.types.is_float32(t):
        return "FLOAT"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    raise TypeError(f"no DuckDB type for {t}")  # pragma: no cover - the schema has only these


def register(
    con: Any,
    name: str = "emotions",
    *,
    model: ModelRef | EmotionModel = None,
    threshold: Threshold = None,
    top_k: int | None = None,
    rollups: Sequence[str] = (),
    schema_version: int = SCHEMA_VERSION,
    batch_size: int | None = None,
) -> Any:
    """Add the SQL function ``name(text)`` to the DuckDB connection ``con`` and return ``con``.

    ``model`` is a registered name, a bundle directory or a loaded model (loaded now,
    once per process); the other options are those of :func:`emospark.core.scoring.score_arrow`
    and are fixed for the function (register another name for other options).
    """
    if not name.isidentifier():
        raise UsageError(f"the function name must be a plain SQL identifier, got {name!r}")
    loaded = model if isinstance(model, EmotionModel) else cached_model(model)
    result = score_type(loaded.labels, rollups, schema_version)
    options = dict(threshold=loaded.threshold_array(threshold), top_k=top_k, rollups=tuple(rollups),
                   schema_version=schema_version, batch_size=batch_size)
    score_arrow(loaded, pa.array([], pa.string()), **options)  # bad options fail here, not in a query

    def udf(texts: pa.Array) -> pa.Array:
        return score_arrow(loaded, texts, **options)

    udf_name = f"{name}__score"
    try:
        con.remove_function(udf_name)  # registering again replaces the function
    except Exception:  # not registered yet (DuckDB raises its own InvalidInputException)
        pass
    types = getattr(duckdb, "sqltypes", None) or duckdb.typing  # duckdb < 1.4: duckdb.typing
    con.create_function(udf_name, udf, [types.VARCHAR], types.DuckDBPyType(sql_type(result)),
                        type="arrow", null_handling="special", side_effects=False)
    con.execute(
        f"CREATE OR REPLACE TEMP MACRO {name}(t) AS CASE "
        f"WHEN typeof(t) IN ('VARCHAR', 'NULL', '\"NULL\"') OR typeof(t) LIKE 'ENUM(%' THEN {udf_name}(t::VARCHAR) "
        f"ELSE error('emospark: {name}() scores text, but its argument is ' || typeof(t) || "
        f"': cast the column with ::VARCHAR if its values are texts') END"
    )
    return con
