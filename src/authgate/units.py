"""Units of work: what `Database.write` and `Database.read` run, and `Prepared` statements.

A unit of work is a plain function of a SQLAlchemy `Connection`, run in one transaction:
committed when it returns, rolled back when it raises.
"""

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select

T = TypeVar("T")
Work = Callable[[Connection], T]
AFTER_COMMIT = "authgate.after_commit"


def after_commit(connection: Connection, callback: Callable[[], None]) -> None:
    """Call `callback` once the unit of work running on `connection` has committed (never
    when it rolls back): for what must not claim a change that did not happen, a log line."""
    connection.info.setdefault(AFTER_COMMIT, []).append(callback)


def take_after_commit(connection: Connection) -> list[Callable[[], None]]:
    """The callbacks registered on `connection` since the last call (for the database layer)."""
    return connection.info.pop(AFTER_COMMIT, None) or []


class Prepared:
    """A Core statement compiled once per dialect and run straight on the driver's cursor.

    For the few statements of the hottest paths (a refresh, a log-in, the session cache's
    load). SQLAlchemy's per-execution machinery (cache key, execution context, events, result
    set-up) costs several times what SQLite spends on such a statement: ~100 µs against ~20.
    The statement is still written with Core and compiled by SQLAlchemy for the connection's
    dialect, and values pass through the column types' own bind and result processors, so they
    are stored and read exactly as everywhere else. `run` returns the rows (named tuples) of a
    statement with columns (SELECT, or RETURNING), else the count of rows affected. An INSERT
    names the columns it sets, and sets them all: column defaults are not applied here.
    """

    def __init__(self, statement: Select[Any] | UpdateBase, *, insert: Sequence[str] = ()):
        self.statement = statement
        self._insert = list(insert)
        self._plans: dict[str, _Plan] = {}

    def run(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        plan = self._plans.get(connection.dialect.name)
        if plan is None:
            plan = self._plans[connection.dialect.name] = self._compile(connection.dialect)
        values = [
            params[name] if process is None else process(params[name])
            for name, process in plan.binds
        ]
        cursor = connection.connection.cursor()
        try:
            cursor.execute(plan.sql, values)
            if plan.row is None:
                return cursor.rowcount
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return [plan.make(row) for row in rows]

    def _compile(self, dialect: Dialect) -> "_Plan":
        compiled = self.statement.compile(dialect=dialect, column_keys=self._insert or None)
        if not compiled.positional or compiled.positiontup is None:
            raise TypeError(f"{dialect.name}: Prepared needs a positional paramstyle")
        binds = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup
        ]
        columns = list(self.statement.exported_columns)
        if not columns:
            return _Plan(compiled.string, binds, None, [])
        row = namedtuple("Row", [column.key for column in columns])  # type: ignore[misc]
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        return _Plan(compiled.string, binds, row, processors)


class _Plan:
    __slots__ = ("binds", "processors", "row", "sql")

    def __init__(
        self, sql: str, binds: list[tuple[str, Any]], row: Any, processors: list[Any]
    ) -> None:
        self.sql, self.binds, self.row, self.processors = sql, binds, row, processors

    def make(self, values: Sequence[Any]) -> Any:
        return self.row._make(
            value if process is None else process(value)
            for value, process in zip(values, self.processors, strict=True)
        )
