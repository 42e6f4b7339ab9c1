"""Load landing files (SPEC section 2) into the warehouse's `raw` schema.

One table per landing entity, upserted by id: a re-delivered id is replaced
when the incoming row's `updated_at` is not older than the stored one (or,
without timestamps on both sides, because the later file wins). Files are
fingerprinted, so loading the same file twice changes nothing, also under
another name: a file identical to one already loaded for the entity (a copy,
`activities_a_copy.csv`) is skipped and recorded in `audit.duplicate_files`.

A bad file (zero bytes, not UTF-8, a missing required column, a column named
twice (compared without case), a value that does not parse as its type, a
missing or duplicate id) is rejected whole: the error names the file, row and
column, nothing of that file is loaded, the file stays where it is, and the
rejection is recorded in `audit.rejected_files` for a person to inspect.
Good files of the same entity are still loaded; the entity's load then
fails so the run stops before scoring.

All parsing and merging runs in DuckDB (set-based); Python only decides
which files to read and formats errors.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.resources import connect, sql_string
from orchestration.settings import Settings

TIMESTAMP = "timestamp"
BIGINT = "bigint"
DOUBLE = "double"
BOOLEAN = "boolean"
TEXT = "varchar"

#: Types of the contract's non-text columns, for the entities whose contract
#: (SPEC section 2) names them (Entity.column_type); every other column is text.
COLUMN_TYPES: dict[str, str] = {
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "occurred_at": TIMESTAMP,
    "closed_at": TIMESTAMP,
    "employee_count": BIGINT,
    "annual_revenue": DOUBLE,
    "amount": DOUBLE,
    "email_opt_out": BOOLEAN,
    "is_won": BOOLEAN,
}

EXTENSIONS = (".csv", ".parquet", ".jsonl")
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")
METADATA_COLUMNS = ("_source_file", "_source_row", "_loaded_at", "_load_id")


@dataclass(frozen=True)
class Entity:
    """A landing entity: where its files are and what columns they must have."""

    name: str
    folder: str
    stem: str
    key: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    many_files: bool = False
    may_be_absent: bool = False

    @property
    def table(self) -> str:
        return f"raw.{self.name}"

    def column_type(self, column: str) -> str:
        """The raw type of a column of this entity's files.

        Typed (and so validated) are this entity's contract columns, and
        `updated_at` in every entity: it orders re-delivered rows (SPEC
        section 2). Any other column is an unknown extra, kept as text,
        whatever it is called elsewhere: a contact's `employee_count` of
        '51-200' or an activity's `amount` of 'n/a' reject nothing.
        """
        if column == "updated_at" or column in self.required or column in self.optional:
            return COLUMN_TYPES.get(column, TEXT)
        return TEXT

    @property
    def pattern(self) -> str:
        return f"{self.folder}/{self.stem}{'*' if self.many_files else ''}.*"

    def files(self, landing_dir: Path) -> list[Path]:
        folder = landing_dir / self.folder
        if not folder.is_dir():
            return []
        found = [
            path
            for path in folder.iterdir()
            if path.is_file()
            and path.suffix.lower() in EXTENSIONS
            and (path.stem.startswith(self.stem) if self.many_files else path.stem == self.stem)
        ]
        # Lexical order is load order: the later file wins ties (SPEC section 2).
        return sorted(found, key=lambda p: p.name)


ENTITIES: dict[str, Entity] = {
    entity.name: entity
    for entity in (
        Entity(
            name="crm_accounts",
            folder="crm",
            stem="accounts",
            key="account_id",
            required=("account_id", "account_name"),
            optional=(
                "domain",
                "industry",
                "employee_count",
                "annual_revenue",
                "country",
                "created_at",
                "updated_at",
            ),
        ),
        Entity(
            name="crm_contacts",
            folder="crm",
            stem="contacts",
            key="contact_id",
            required=("contact_id", "email", "created_at"),
            optional=(
                "account_id",
                "first_name",
                "last_name",
                "job_title",
                "phone",
                "country",
                "lead_source",
                "email_opt_out",
                "updated_at",
            ),
        ),
        Entity(
            name="crm_opportunities",
            folder="crm",
            stem="opportunities",
            key="opportunity_id",
            required=("opportunity_id", "account_id", "created_at"),
            optional=(
                "contact_id",
                "product_line",
                "stage",
                "amount",
                "closed_at",
                "is_won",
            ),
            may_be_absent=True,
        ),
        Entity(
            name="marketing_activities",
            folder="marketing",
            stem="activities",
            key="activity_id",
            required=("activity_id", "contact_id", "activity_type", "occurred_at"),
            optional=("channel", "url", "campaign_id", "product_line", "user_agent"),
            many_files=True,
        ),
    )
}


#: Columns holding another entity's key: trimmed like that key, blank is null.
REFERENCE_COLUMNS = frozenset(("account_id", "contact_id"))


class LandingError(Exception):
    """A landing file (or folder) that cannot be loaded, with where and why."""

    def __init__(
        self,
        file: Path | str,
        message: str,
        row: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        self.file = str(file)
        self.row = row
        self.column = column
        self.value = value
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


class LoadFailed(Exception):
    """One or more files of an entity were rejected; the good ones were loaded."""

    def __init__(self, entity: str, errors: list[LandingError]) -> None:
        self.entity = entity
        self.errors = errors
        lines = "\n".join(f"  - {error}" for error in errors)
        super().__init__(
            f"{len(errors)} file(s) of {entity} rejected (nothing of them was loaded; "
            f"details in audit.rejected_files):\n{lines}"
        )


@dataclass
class EntityLoad:
    """What one entity's load did."""

    entity: str
    files_loaded: list[str] = field(default_factory=list)
    files_skipped: list[str] = field(default_factory=list)
    #: Skipped files identical to another file already loaded: file -> that file.
    files_duplicate: dict[str, str] = field(default_factory=dict)
    rows_in_files: int = 0
    rows_upserted: int = 0
    rows_kept_newer: int = 0
    #: rows of a reloaded file that another file replaced since, unchanged in it
    rows_kept_unchanged: int = 0
    table_rows: int = 0
    errors: list[LandingError] = field(default_factory=list)


# --------------------------------------------------------------------------
# File checks that DuckDB cannot report precisely


#: A CSV's first non-UTF-8 byte is placed in its row and column by parsing the
#: file up to it, on the error path only, within this many bytes (held in
#: memory for the parse, so kept small beside DuckDB's budget).
_PLACE_BAD_BYTE_WITHIN = 64 << 20
#: Stands for the bad byte in that parse: a private-use code point no export writes.
_BAD_BYTE_MARK = "\U0010fffd"


def _csv_place_of_byte(path: Path, offset: int) -> tuple[int, str | None] | None:
    """(row, column) of the CSV record holding byte `offset` (row 0: the
    header; rows count records, so a quoted line break does not shift them),
    or None beyond _PLACE_BAD_BYTE_WITHIN. The bytes before it are UTF-8."""
    if offset > _PLACE_BAD_BYTE_WITHIN:
        return None
    with path.open("rb") as handle:
        before = handle.read(offset).decode("utf-8-sig")
    reader = csv.reader(io.StringIO(before + _BAD_BYTE_MARK))
    del before
    try:
        header = last = next(reader)
        row = 0
        for last in reader:  # noqa: B007 (the last record is the one wanted)
            row += 1
    except csv.Error:  # a field beyond the csv module's limit: the line still names it
        return None
    if row == 0:
        return 0, None
    fields = len(last) - 1
    return row, (header[fields].strip() if fields < len(header) else None)


def _fingerprint_and_check_utf8(path: Path, check_utf8: bool) -> str:
    """sha256 of the file; raise LandingError at the first non-UTF-8 byte,
    naming its line (and for a CSV, its row and column).

    One streaming pass does both, so a 3 GB activities file is read once.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    consumed = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
            if check_utf8:
                # the start of a character the previous chunk ended in
                pending = decoder.getstate()[0]
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    data = pending + chunk  # what the error's positions count in
                    bad_at = exc.start
                    bad_line = line + data.count(b"\n", 0, bad_at)
                    place = None
                    if path.suffix.lower() == ".csv":
                        place = _csv_place_of_byte(path, consumed - len(pending) + bad_at)
                    raise LandingError(
                        path,
                        f"not valid UTF-8 (byte 0x{data[bad_at]:02x} on line {bad_line}); "
                        "re-export the file as UTF-8",
                        *(place or ()),
                    ) from None
                line += chunk.count(b"\n")
                consumed += len(chunk)
        if check_utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise LandingError(path, "not valid UTF-8 (truncated character at end)") from None
    return digest.hexdigest()


def _only_whitespace(path: Path) -> bool:
    """True if the file holds nothing but whitespace (blank lines), read in chunks."""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            if chunk.strip():
                return False
    return True


def _csv_header(path: Path) -> list[str]:
    # utf-8-sig: a byte order mark (Excel, many CRM exports) is not part of the
    # first name, quoted or not
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise LandingError(path, "no header row") from None
    if not header:
        raise LandingError(path, "no header row: the first line is blank", row=0)
    header = [name.strip() for name in header]
    for position, name in enumerate(header, start=1):
        if "\n" in name or "\r" in name:
            # A quote never closed in the header makes the rest of the file one
            # name: DuckDB would read a header and no rows.
            raise LandingError(
                path,
                f"column {position} of the header holds a line break "
                f"({name.splitlines()[0][:40]!r}...): a quote never closed in the header?",
                row=0,
            )
        if not name:
            # DuckDB cannot bind a column without a name (it fails with a
            # binder error quoting its own SQL): name the place instead.
            after = f" (after {header[position - 2]!r})" if position > 1 else ""
            raise LandingError(
                path,
                f"column {position} of the header{after} has no name; name it, or remove "
                "the empty column (a trailing comma in the header, as some exports write)",
                row=0,
            )
    _check_names_once(path, header, "the header")
    return header


def _check_names_once(path: Path, names: list[str], where: str) -> None:
    """Raise LandingError (row 0) at the first column named twice, compared without case.

    DuckDB's names are case-insensitive, as the raw tables' columns are:
    `email` and `Email` would be one column. DuckDB's CSV reader stops on them
    with a binder error; its JSON and Parquet readers rename the second one
    (`Email_1`), which would load it silently as an extra column.
    """
    seen: dict[str, str] = {}
    for name in names:
        key = name.lower()
        if key in seen:
            spellings = (
                ""
                if seen[key] == name
                else f" (column names are compared without case: {seen[key]!r}, {name!r})"
            )
            raise LandingError(
                path, f"{where} names this column twice{spellings}", row=0, column=name
            )
        seen[key] = name


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _reader_sql(
    con: duckdb.DuckDBPyConnection, path: Path
) -> tuple[str, list[str], dict[str, str]]:
    """A DuckDB table function call reading the file, its columns and their landed types.

    CSV and JSON lines are read as text; Parquet keeps its own column types.
    """
    suffix = path.suffix.lower()
    literal = sql_string(str(path))
    if suffix == ".csv":
        columns = _csv_header(path)
        return (
            _csv_reader(literal, columns, padded=True),
            columns,
            dict.fromkeys(columns, "VARCHAR"),
        )
    if suffix == ".jsonl":
        try:
            described = con.execute(
                f"describe select * from read_json({literal}, format = 'newline_delimited')"
            ).fetchall()
        except duckdb.Error as exc:
            raise _json_lines_error(con, path, exc) from None
        # A line that is not an object makes DuckDB read every line as one
        # column `json` of type JSON: name that line instead of a "missing" column.
        if [tuple(row[:2]) for row in described] == [("json", "JSON")]:
            bad = _first_bad_json_line(con, path)
            if bad is not None:
                raise _json_lines_error(con, path, None, bad=bad)
            if _only_whitespace(path):
                raise LandingError(
                    path,
                    "has no JSON object, only blank lines; a JSON lines file has no header "
                    "to say 'no rows yet': deliver a header-only CSV or a Parquet file "
                    "without rows instead",
                )
        columns = [row[0] for row in described]
        # An empty key also makes DuckDB read each object as one column `json`
        # (a map of the keys).
        if columns == ["json"] and "" in (_json_lines_keys(con, literal) or []):
            (row,) = con.execute(
                f"""
                select min(line) from (
                    select json_keys(json) as keys, row_number() over () as line
                    from read_json_objects({literal}, format = 'newline_delimited')
                )
                where list_contains(keys, '')
                """
            ).fetchone()
            raise LandingError(
                path,
                'has an object with an empty key (""); every key names a column: '
                "name it or remove it",
                row=row,
            )
        if _renamed_by_duckdb(columns):
            keys = _json_lines_keys(con, literal)
            if keys is not None:
                _check_names_once(path, keys, "the JSON objects")
        spec = "{" + ", ".join(f"{sql_string(c)}: 'VARCHAR'" for c in columns) + "}"
        sql = f"read_json({literal}, format = 'newline_delimited', columns = {spec})"
        return sql, columns, dict.fromkeys(columns, "VARCHAR")
    try:
        described = con.execute(f"describe select * from read_parquet({literal})").fetchall()
        names = _parquet_names(con, literal)
    except duckdb.Error as exc:
        raise LandingError(path, f"not a readable Parquet file: {_first_line(exc)}") from None
    _check_names_once(path, names, "the Parquet schema")
    columns = [row[0] for row in described]
    return f"read_parquet({literal})", columns, {row[0]: row[1] for row in described}


#: The CSV reader's null string: no value of a file is this text, so an empty
#: value reads as '' and only a value the row lacks (null padding) reads as null.
_CSV_NO_NULL_STRING = "\x01leadscore: no null string\x02"
#: What DuckDB's parallel reader says when null padding meets a quoted line break.
_CSV_QUOTED_LINE_BREAK = "does not support null_padding in conjunction with quoted new lines"


def _unused_name(name: str, columns: list[str]) -> str:
    taken = {c.lower() for c in columns}
    while name.lower() in taken:
        name += "_"
    return name


def _csv_reader(literal: str, columns: list[str], *, padded: bool, parallel: bool = True) -> str:
    """read_csv of the file: its columns as text, then (`padded`) one column more.

    DuckDB's strict mode drops the empty values at the end of a row with more
    values than the header: `a,b=2,,,` under `url,campaign_id,product_line,
    user_agent` would load `b=2` as the campaign. So the file is read with one
    column more than its header, null padding, and a null string no value is: a
    row with one value too many fills the extra column ('' when empty), a row
    with too few leaves its last column null, and a row with two or more too
    many stays DuckDB's error. `_copy_csv` finds the first two kinds.

    Not `padded`, the reader is DuckDB's strict one (the one used before).
    """
    names = [*columns, _unused_name("_extra_value", columns)] if padded else columns
    spec = "{" + ", ".join(f"{sql_string(c)}: 'VARCHAR'" for c in names) + "}"
    padding = (
        f"null_padding = true, nullstr = {sql_string(_CSV_NO_NULL_STRING)}"
        if padded
        else "null_padding = false"
    )
    return (
        f"read_csv({literal}, header = true, columns = {spec}, delim = ',', quote = '\"', "
        f"escape = '\"', strict_mode = true, auto_detect = false, {padding}, "
        f"parallel = {str(parallel).lower()})"
    )


def _copy_csv(
    con: duckdb.DuckDBPyConnection, path: Path, display: str, reader: str, columns: list[str]
) -> None:
    """Copy the CSV file (`reader`: `_csv_reader`, padded) as text into temp
    table `incoming_text`, numbering its rows.

    Raise LandingError naming the first row with more or fewer values than the
    header, with the row's values as its text. Empty values are null, as in
    every landing format.

    DuckDB's parallel reader cannot pad a file with a quoted line break; such a
    file is read on one thread, and then also by the strict reader: on one
    thread, the padded reader may end the file silently at a quote never
    closed (DuckDB 2.0.1), where the parallel readers name it.
    """
    literal = sql_string(str(path))
    extra = _unused_name("_extra_value", columns)
    found_values, row_text = (
        _quote(_unused_name(name, [*columns, extra])) for name in ("_values", "_text")
    )
    read = [_quote(c) for c in [*columns, extra]]
    wrong = f"{read[-1]} is not null or {read[-2]} is null"
    count = " + ".join(f"cast({c} is not null as integer)" for c in read)
    # the row as CSV again, for the record: values quoted where they need it
    joined = "concat_ws(',', {})".format(
        ", ".join(
            f"""case when regexp_matches({c}, '[,"\\r\\n]') """
            f"""then '"' || replace({c}, '"', '""') || '"' else {c} end"""
            for c in read
        )
    )
    values = ", ".join(f"nullif({c}, '') as {c}" for c in read[:-1])
    serial = _csv_reader(literal, columns, padded=True, parallel=False)
    for attempt in (reader, serial):
        try:
            con.execute("drop table if exists incoming_text")
            con.execute(
                "create temp table incoming_text as select row_number() over () as _source_row, "
                f"{values}, case when {wrong} then {count} end as {found_values}, "
                f"case when {wrong} then {joined} end as {row_text} from {attempt}"
            )
            break
        except duckdb.Error as exc:
            if attempt != serial and _CSV_QUOTED_LINE_BREAK in str(exc):
                continue
            raise _csv_parse_error(display, exc, len(columns)) from None
    row, found, text, rows, short = con.execute(
        f"select min(_source_row), arg_min({found_values}, _source_row), "
        f"arg_min({row_text}, _source_row), count(*), "
        f"count(*) filter (where {found_values} < {len(columns)}) "
        f"from incoming_text where {found_values} is not null"
    ).fetchone()
    if short or attempt == serial:
        # The strict reader names a quoted value never closed, which comes
        # back as a row cut short, or, on one thread, as the end of the file.
        strict = _csv_reader(literal, columns, padded=False)
        try:
            strict_rows = con.execute(f"select count(*) from {strict}").fetchone()[0]
        except duckdb.Error as exc:
            # A wrong number of values stays the padded reader's finding: its
            # rows are numbered as records (DuckDB counts a blank line).
            if row is None or _CSV_COLUMN_COUNT.search(str(exc)) is None:
                raise _csv_parse_error(display, exc, len(columns)) from None
        else:
            padded_rows = con.execute("select count(*) from incoming_text").fetchone()[0]
            if row is None and strict_rows != padded_rows:
                raise LandingError(
                    display,
                    f"reads as {strict_rows} rows or as {padded_rows} depending on the "
                    "reader; check its quotes",
                )
    if row is not None:
        more = f" ({rows - 1} more row(s) with a wrong number of values)" if rows > 1 else ""
        raise LandingError(
            display, _wrong_value_count(found, len(columns)) + more, row=int(row), value=text[:200]
        )


def _wrong_value_count(found: int, expected: int) -> str:
    return f"has {found} values where the header has {expected} columns " + (
        "(an unquoted comma inside a value?)"
        if found > expected
        else "(a value left out, or a line break inside a value not quoted?)"
    )


def _renamed_by_duckdb(columns: list[str]) -> bool:
    """True if a column may be one DuckDB renamed: `Email_1` beside `email`.

    Such a name is only a hint (a file may hold `email` and `email_1`): the
    file's own names decide, read only then.
    """
    lowered = {name.lower() for name in columns}
    for name in columns:
        base, _, number = name.rpartition("_")
        if base and number.isdigit() and base.lower() in lowered:
            return True
    return False


def _json_lines_keys(con: duckdb.DuckDBPyConnection, literal: str) -> list[str] | None:
    """Every key of a JSON lines file's objects, in order of first appearance.

    One pass over the file; None if it cannot be read (the staging then names
    the bad line).
    """
    try:
        rows = con.execute(
            f"""
            select key
            from (
                select unnest(keys) as key, generate_subscripts(keys, 1) as i, line
                from (
                    select json_keys(json) as keys, row_number() over () as line
                    from read_json_objects({literal}, format = 'newline_delimited')
                )
            )
            group by key
            order by min([line, i])
            """
        ).fetchall()
    except duckdb.Error:
        return None
    return [row[0] for row in rows]


def _parquet_names(con: duckdb.DuckDBPyConnection, literal: str) -> list[str]:
    """A Parquet file's top-level column names as written (its schema, not its data)."""
    elements = con.execute(f"select name, num_children from parquet_schema({literal})").fetchall()
    names: list[str] = []
    nested = 0  # elements still to pass below the last top-level column
    for name, children in elements[1:]:  # the first element is the schema's root
        if nested:
            nested += (children or 0) - 1
            continue
        names.append(name)
        nested = children or 0
    return names


def _first_bad_json_line(
    con: duckdb.DuckDBPyConnection, path: Path
) -> tuple[int, int, str, str] | None:
    """The first line of a JSON lines file that is not one JSON object.

    Returns (line number, row number, why, text). Rows count the records, as
    the rest of the file's checks do: a blank line is not a row. One
    set-based pass over the file's text, only called once the file is known
    to be bad; None when every line is an object or the text cannot be read
    (a file too large to hold as one text within the DuckDB memory limit):
    the reader's own message then stands.
    """
    # DuckDB's reader skips these around and between objects, and a UTF-8
    # byte order mark before the first line.
    blanks = "' ' || chr(9) || chr(11) || chr(12) || chr(13)"
    line = f"trim(case when i = 1 then ltrim(raw_line, chr(65279)) else raw_line end, {blanks})"
    try:
        # The list of lines is unnested in the select list: a lateral join
        # would carry the whole file's text along with every line.
        return con.execute(
            f"""
            select i, row_number, coalesce(json_type, 'invalid'), left(line, 80)
            from (
                select
                    i,
                    line,
                    sum(case when line = '' then 0 else 1 end)
                        over (order by i rows between unbounded preceding and current row)
                        as row_number,
                    case when json_valid(line) then json_type(line) end as json_type
                from (
                    select i, {line} as line
                    from (
                        select unnest(lines) as raw_line, generate_subscripts(lines, 1) as i
                        from (
                            select string_split(content, chr(10)) as lines
                            from read_text({sql_string(str(path))})
                        )
                    )
                )
            )
            where line <> '' and json_type is distinct from 'OBJECT'
            order by i
            limit 1
            """
        ).fetchone()
    except duckdb.Error:
        return None


def _json_lines_error(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    exc: BaseException | None,
    fallback: str = "not valid JSON lines",
    bad: tuple[int, int, str, str] | None = None,
) -> LandingError:
    """A JSON lines file DuckDB cannot read, naming the first bad line.

    DuckDB's message counts an unfinished object on the line where the reader
    stopped, often the next one; the file's own lines say where it is. When
    no line is to blame, DuckDB's message follows `fallback`.
    """
    bad = bad or _first_bad_json_line(con, path)
    if bad is None:
        return LandingError(path, f"{fallback}: {_first_line(exc)}")
    line, row, kind, text = bad
    # DuckDB's json_type names SQL types: say them in JSON's words
    json_kind = {"ARRAY": "an array", "VARCHAR": "a string", "BOOLEAN": "a boolean", "NULL": "null"}
    why = (
        "is not valid JSON"
        if kind == "invalid"
        else f"is {json_kind.get(kind, 'a number')}, not a JSON object"
    )
    return LandingError(
        path,
        f"not valid JSON lines (one JSON object per line): line {line} {why}: {text!r}",
        row=int(row),
    )


#: DuckDB's CSV errors count lines as records, the header being line 1 (a
#: quoted value spanning lines is one), so line N is data row N - 1.
_CSV_ERROR_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CSV_COLUMN_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_CSV_ORIGINAL_LINE = re.compile(r"Original Line: ([^\n]*)")


def _csv_parse_error(display: str, exc: BaseException, header_columns: int) -> LandingError:
    """A CSV file DuckDB cannot read, naming its data row (header excluded) and the row's text.

    Without a line number in DuckDB's message, its first lines stand. DuckDB's
    expected number of columns counts the reader's extra column (`_csv_reader`).
    """
    text = str(exc)
    line = _CSV_ERROR_LINE.search(text)
    if line is None:
        return LandingError(display, f"cannot be parsed: {_first_line(exc)}")
    count = _CSV_COLUMN_COUNT.search(text)
    if count is not None:
        why = _wrong_value_count(int(count.group(2)), header_columns)
    elif "unterminated quote" in text:
        why = 'has a quoted value that is never closed (a " without its closing ")'
    else:
        why = f"cannot be parsed: {_first_line(exc)}"
    original = _CSV_ORIGINAL_LINE.search(text)
    value = original.group(1)[:200] if original is not None else None
    return LandingError(display, why, row=int(line.group(1)) - 1, value=value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[:3])


#: The shapes of an ISO 8601 timestamp (upper case), extended and basic: a date,
#: optionally a time (hh, hh:mm, seconds, a decimal fraction of the seconds
#: with a dot or a comma; hh alone after a T only) and an offset (Z, +hh,
#: +hh:mm, +hhmm; hours 00-23 and minutes 00-59, as RFC 3339 writes them).
#: DuckDB's cast alone also reads what is no ISO 8601: an offset of +25:00 or
#: +05:99 (moved by a day or more, silently), zone names (America/New_York,
#: PST), 2026-11-1, a BC suffix, epoch / infinity.
ISO_8601_PATTERNS = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"((T[0-9]{2}|[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?)"
    r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$",
    r"^[0-9]{8}(T[0-9]{2}([0-9]{2}([0-9]{2}([.,][0-9]+)?)?)?"
    r"(Z|[+-]([01][0-9]|2[0-3])([0-5][0-9])?)?)?$",
)


def _parse_expression(column: str, data_type: str) -> str:
    """SQL turning the landed value into its contract type (null when unparseable)."""
    q = _quote(column)
    text = f"nullif(trim(cast({q} as varchar)), '')"
    if data_type == TIMESTAMP:
        # ISO 8601; values without an offset are UTC (session TimeZone is UTC).
        # An ISO timestamp starts with its year: DuckDB's cast also takes the
        # words epoch, infinity and -infinity (1970, 9999, year 1), never data.
        # DuckDB reads the extended form (2026-12-01T10:00:00Z); a value it
        # cannot read is tried once more in the extended form, which covers
        # ISO's basic form (20261201T100000Z, 20261201), a lower-case t or z
        # (RFC 3339), an hour alone (2026-12-01T10Z, 20261201T10: hh:00) and a
        # decimal comma (10:00:00,5: a dot; the shape check allows a comma
        # nowhere else). Only values the first cast rejects take that path.
        upper = f"upper({text})"
        dot = f"replace({upper}, ',', '.')"
        extended = (
            f"case when regexp_matches({dot}, '^[0-9]{{8}}T[0-9]{{6}}') "
            f"then regexp_replace({dot}, '^([0-9]{{4}})([0-9]{{2}})([0-9]{{2}})T"
            f"([0-9]{{2}})([0-9]{{2}})([0-9]{{2}})', '\\1-\\2-\\3T\\4:\\5:\\6') "
            f"when regexp_matches({dot}, '^[0-9]{{8}}T[0-9]{{4}}') "
            f"then regexp_replace({dot}, '^([0-9]{{4}})([0-9]{{2}})([0-9]{{2}})T"
            f"([0-9]{{2}})([0-9]{{2}})', '\\1-\\2-\\3T\\4:\\5') "
            f"when regexp_matches({dot}, '^[0-9]{{8}}T[0-9]{{2}}') "
            f"then regexp_replace({dot}, '^([0-9]{{4}})([0-9]{{2}})([0-9]{{2}})T"
            f"([0-9]{{2}})', '\\1-\\2-\\3T\\4:00') "
            f"when regexp_matches({dot}, '^[0-9]{{8}}$') "
            f"then regexp_replace({dot}, '^([0-9]{{4}})([0-9]{{2}})([0-9]{{2}})$', "
            f"'\\1-\\2-\\3') "
            f"when regexp_matches({dot}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}(Z|[+-]|$)') "
            f"then regexp_replace({dot}, '^([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}})', "
            f"'\\1:00') "
            f"else {dot} end"
        )
        shape = " or ".join(
            f"regexp_matches({upper}, {sql_string(pattern)})" for pattern in ISO_8601_PATTERNS
        )
        return (
            f"case when {shape} "
            f"then cast(coalesce(try_cast({text} as timestamptz), "
            f"try_cast({extended} as timestamptz)) as timestamp) end"
        )
    if data_type == BIGINT:
        return f"try_cast(try_cast({text} as double) as bigint)"
    if data_type == DOUBLE:
        return f"try_cast({text} as double)"
    if data_type == BOOLEAN:
        trues = ", ".join(sql_string(w) for w in TRUE_WORDS)
        falses = ", ".join(sql_string(w) for w in FALSE_WORDS)
        return (
            f"case when lower({text}) in ({trues}) then true "
            f"when lower({text}) in ({falses}) then false end"
        )
    # An empty value is null in every format, as an empty CSV cell reads:
    # JSON lines ("") and Parquet keep empty strings, and a send and a click
    # with an empty campaign_id would otherwise match as one campaign.
    return f"nullif(cast({q} as varchar), '')"


#: Landed (Parquet) types whose values cast to the contract type exactly as their
#: text form would parse, so they skip the text round trip and cannot be bad.
#: Integers reach BIGINT through a double on the text route: only types that a
#: double holds exactly are listed. REAL, DECIMAL, TIMESTAMP_NS, DATE and text
#: take the text route.
DIRECT_CASTS: dict[str, frozenset[str]] = {
    TIMESTAMP: frozenset(("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS")),
    BIGINT: frozenset(("TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER")),
    DOUBLE: frozenset(
        ("DOUBLE", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
    ),
    BOOLEAN: frozenset(("BOOLEAN",)),
}


def _is_direct(data_type: str, landed_type: str) -> bool:
    return landed_type.upper() in DIRECT_CASTS.get(data_type, frozenset())


def _typed_expression(column: str, data_type: str, landed_type: str) -> str:
    """SQL giving the contract-typed value of a column from its landed type."""
    if _is_direct(data_type, landed_type):
        return f"cast({_quote(column)} as {data_type})"
    return _parse_expression(column, data_type)


def _bad_value_condition(column: str, data_type: str) -> str:
    q = _quote(column)
    text = f"nullif(trim(cast({q} as varchar)), '')"
    parsed = _parse_expression(column, data_type)
    condition = f"({text} is not null and {parsed} is null)"
    if data_type == BIGINT:
        # 12.5 employees is a data error, not something to round silently.
        condition += f" or try_cast({text} as double) <> floor(try_cast({text} as double))"
    return condition


EXPECTED = {
    TIMESTAMP: "an ISO 8601 timestamp (e.g. 2026-01-31T09:30:00Z)",
    BIGINT: "a whole number",
    DOUBLE: "a number",
    BOOLEAN: "a boolean (true/false/1/0/yes/no)",
}


# --------------------------------------------------------------------------
# Loading


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and audit schemas and the bookkeeping tables."""
    con.execute("create schema if not exists raw")
    con.execute("create schema if not exists audit")
    con.execute(
        """
        create table if not exists raw._load_log (
            load_id bigint primary key,
            entity varchar not null,
            source_file varchar not null,
            size_bytes bigint not null,
            mtime_ns bigint not null,
            sha256 varchar not null,
            row_count bigint not null,
            rows_upserted bigint not null,
            loaded_at timestamp not null
        )
        """
    )
    # Rows re-delivered with another contact (or none): the contact that lost
    # each one. The raw table keeps only the new version, and the bot flags
    # re-evaluate the contacts of the loads since their last build: the
    # previous contact must be re-evaluated too (its flags may have rested on
    # the moved row).
    con.execute(
        """
        create table if not exists raw._contact_moves (
            entity varchar not null,
            row_id varchar not null,
            old_contact_id varchar,
            new_contact_id varchar,
            load_id bigint not null
        )
        """
    )
    # Rows of a file of a many-file entity (activities) replaced by another
    # file's row with the same id: the replaced version, as a fingerprint of
    # its values. When the first file changes and loads again (a monthly file
    # that grows every day), a row of it that is the same as that replaced
    # version is no news: the other file's row stays (see _merge_incoming).
    con.execute(
        """
        create table if not exists raw._replaced_rows (
            entity varchar not null,
            row_id varchar not null,
            source_file varchar not null,
            row_hash varchar not null,
            load_id bigint not null
        )
        """
    )
    con.execute(
        """
        create table if not exists audit.rejected_files (
            entity varchar not null,
            source_file varchar not null,
            sha256 varchar,
            source_row bigint,
            column_name varchar,
            value varchar,
            message varchar not null,
            rejected_at timestamp not null
        )
        """
    )
    # Files not loaded because their content is another file's, already loaded
    # (a copy under a new name): loading it again would revert the rows later
    # files corrected. A table of its own, not a column of raw._load_log: that
    # log holds loads only (its load ids drive the quality checks and dbt), and
    # other writers insert into it positionally. Size and mtime let the next
    # run skip the copy without reading it again.
    con.execute(
        """
        create table if not exists audit.duplicate_files (
            entity varchar not null,
            source_file varchar not null,
            sha256 varchar not null,
            size_bytes bigint not null,
            mtime_ns bigint not null,
            duplicate_of varchar not null,
            skipped_at timestamp not null
        )
        """
    )


def _ensure_table(con: duckdb.DuckDBPyConnection, entity: Entity, columns: list[str]) -> None:
    """Create the raw table (contract columns first) and add new extra columns."""
    contract = [*entity.required, *entity.optional]
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'raw' and table_name = ?",
        [entity.name],
    ).fetchone()[0]
    if not exists:
        defs = [f"{_quote(c)} {entity.column_type(c)}" for c in contract]
        defs += [
            "_source_file varchar",
            "_source_row bigint",
            "_loaded_at timestamp",
            "_load_id bigint",
        ]
        con.execute(f"create table {entity.table} ({', '.join(defs)})")
    present = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = ?",
            [entity.name],
        ).fetchall()
    )
    for column, data_type in present.items():
        # Earlier commits also typed an extra column named like another
        # entity's typed column (a contact's employee_count); it becomes text,
        # as every unknown extra column is, so that values such as '51-200' load.
        if (
            column not in METADATA_COLUMNS
            and entity.column_type(column) == TEXT
            and data_type.upper() != "VARCHAR"
        ):
            con.execute(f"alter table {entity.table} alter column {_quote(column)} type varchar")
    # DuckDB compares names without case: a later file's CRM_Owner is the
    # crm_owner an earlier file added, not a column to add again.
    present_names = {column.lower() for column in present}
    for column in columns:
        if column.lower() not in present_names:
            present_names.add(column.lower())
            # Unknown extra columns are kept (as text) and ignored by scoring.
            con.execute(
                f"alter table {entity.table} add column {_quote(column)} "
                f"{entity.column_type(column)}"
            )


@dataclass(frozen=True)
class Staged:
    """A validated landing file, ready to merge."""

    columns: list[str]
    #: A relation with `_source_row` and the file's columns as landed.
    source: str
    #: The select list typing `source`'s columns to the contract.
    select: str
    rows: int
    #: True when `source` reads the file itself (Parquet), not a staged copy.
    reads_file: bool
    #: The smallest and largest (trimmed) id: stored rows outside cannot match.
    key_range: tuple[str | None, str | None] = (None, None)


def _delimiter_hint(path: Path, columns: list[str]) -> str:
    """Why a CSV header may read as one column: another delimiter (Excel's `;` in
    many locales, a tab). The landing contract's CSV is comma-separated."""
    if path.suffix.lower() != ".csv" or len(columns) != 1:
        return ""
    for delimiter, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
        if delimiter in columns[0]:
            return (
                f"; the header is one column holding {name}: the file seems separated by "
                f"{name}, and landing CSV files are comma-separated (SPEC section 2): "
                "re-export it with commas"
            )
    return ""


def _stage_file(con: duckdb.DuckDBPyConnection, entity: Entity, path: Path, display: str) -> Staged:
    """Validate one file; return where its rows are and how to type them.

    Parquet is read where it lies (its row numbers come from the reader), so
    the file is never copied before the merge; CSV and JSON lines are copied
    once, as text, into temp table `incoming_text`.
    """
    reader, columns, landed = _reader_sql(con, path)
    reserved = [c for c in columns if c.lower() in METADATA_COLUMNS]
    if reserved:
        raise LandingError(
            display,
            f"column name {reserved[0]!r} is reserved: the raw tables record each row's "
            f"origin in {list(METADATA_COLUMNS)}; rename it in the export",
            row=0,
            column=reserved[0],
        )
    missing = [c for c in entity.required if c not in columns]
    if missing:
        raise LandingError(
            display,
            f"missing required column(s) {missing}; the header has {columns}"
            + _delimiter_hint(path, columns),
            row=0,
            column=missing[0],
        )
    # The key is trimmed here, in the one pass that types the file, rather
    # than by rewriting every staged row afterwards; so are the references
    # to other entities' keys, so that ' C1' still points at C1.
    select = ", ".join(
        (
            f"trim({_parse_expression(c, TEXT)})"
            if c == entity.key
            else f"nullif(trim({_parse_expression(c, TEXT)}), '')"
            if c in REFERENCE_COLUMNS
            else _typed_expression(c, entity.column_type(c), landed[c])
        )
        + f" as {_quote(c)}"
        for c in columns
    )
    # A file with columns named like the row number falls back to a staged copy.
    clash = {"file_row_number", "_source_row"} & set(columns)
    reads_file = path.suffix.lower() == ".parquet" and not clash
    if reads_file:
        # file_row_number is 0-based and counts rows in file order.
        source = (
            "(select file_row_number + 1 as _source_row, * exclude (file_row_number) "
            f"from read_parquet({sql_string(str(path))}, file_row_number = true))"
        )
    else:
        source = "incoming_text"
        if path.suffix.lower() == ".csv":
            _copy_csv(con, path, display, reader, columns)
        else:
            try:
                con.execute("drop table if exists incoming_text")
                con.execute(
                    f"create temp table incoming_text as "
                    f"select row_number() over () as _source_row, * from {reader}"
                )
            except duckdb.Error as exc:
                if path.suffix.lower() == ".jsonl":
                    # a bad line beyond the part the column detection sampled
                    raise _json_lines_error(con, path, exc, "cannot be parsed") from None
                raise LandingError(display, f"cannot be parsed: {_first_line(exc)}") from None

    # One pass finds the first bad value of every column typed from text, the
    # first missing id, and whether any id repeats. Columns cast directly from
    # their Parquet type cannot hold a bad value.
    key = _quote(entity.key)
    types = {c: entity.column_type(c) for c in columns}
    typed = [c for c in columns if types[c] != TEXT and not _is_direct(types[c], landed[c])]
    checks = [(c, types[c], _bad_value_condition(c, types[c])) for c in typed] + [
        (entity.key, "key", f"nullif(trim(cast({key} as varchar)), '') is null")
    ]
    aggregates = ", ".join(
        f"min(_source_row) filter (where {cond}), "
        f"arg_min(cast({_quote(c)} as varchar), _source_row) filter (where {cond}), "
        f"count(*) filter (where {cond})"
        for c, _, cond in checks
    )
    try:
        # Distinct hashes: cheaper than distinct strings; a collision only
        # costs the exact duplicate query below.
        needed = ", ".join(_quote(c) for c in dict.fromkeys([*typed, entity.key]))
        rows, distinct_keys, low, high, *found = con.execute(
            "select count(*), count(distinct hash(_trimmed_key)), min(_trimmed_key), "
            f"max(_trimmed_key), {aggregates} from (select _source_row, {needed}, "
            f"trim(cast({key} as varchar)) as _trimmed_key from {source})"
        ).fetchone()
    except duckdb.Error as exc:
        raise LandingError(display, f"cannot be parsed: {_first_line(exc)}") from None
    for i, (column, kind, _) in enumerate(checks):
        row, value, count = found[3 * i : 3 * i + 3]
        if row is not None:
            expected = "a non-empty id" if kind == "key" else EXPECTED[kind]
            more = f" ({count - 1} more row(s) like it)" if count > 1 else ""
            raise LandingError(
                display,
                # a missing id (None) is named as such, not as Python's None
                f"the id is missing (empty){more}"
                if value is None
                else f"value {value!r} is not {expected}{more}",
                row=int(row),
                column=column,
                value=value,
            )
    duplicate = None
    if distinct_keys < rows:
        duplicate = con.execute(
            f"""
            select key, list(_source_row order by _source_row) as rows_
            from (select trim(cast({key} as varchar)) as key, _source_row from {source})
            group by key having count(*) > 1
            order by min(_source_row) limit 1
            """
        ).fetchone()
    if duplicate:
        key_value, dup_rows = duplicate
        raise LandingError(
            display,
            f"duplicate id {key_value!r} on rows {dup_rows[:10]}; ids must be unique within a file",
            row=int(dup_rows[1]),
            column=entity.key,
            value=key_value,
        )
    return Staged(columns, source, select, int(rows), reads_file, (low, high))


def _merge_incoming(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    staged: Staged,
    display: str,
    load_id: int,
) -> tuple[int, int, int]:
    """Upsert a staged file into the raw table; return (upserted, kept_newer, kept_unchanged).

    kept_newer: incoming rows older (updated_at) than the stored ones.
    kept_unchanged (many-file entities): rows of a file loaded before that
    are the same as the version of them another file replaced since; that
    file's rows stay, as they would had the file not changed.
    """
    columns = staged.columns
    _ensure_table(con, entity, columns)
    key = _quote(entity.key)
    incoming = f"(select {staged.select}, _source_row from {staged.source})"
    winners = ""
    kept_newer = 0
    kept_unchanged = 0
    # Only stored ids within the file's id range can match; the range lets
    # DuckDB skip the row groups of the raw table outside it. When the range
    # holds no stored id (an empty table, a day's new activities, each month
    # of a first load), nothing can be replaced.
    in_range = f"t.{key} between ? and ?"
    stored = (
        staged.rows
        and con.execute(
            f"select exists (select 1 from {entity.table} as t where {in_range})",
            list(staged.key_range),
        ).fetchone()[0]
    )
    if stored:
        if "updated_at" in columns:
            # Incoming loses only when both sides have updated_at and the stored one is newer.
            con.execute(
                f"create or replace temp table losers as select i.{key} "
                f"from {incoming} as i join {entity.table} as t on t.{key} = i.{key} "
                f"where {in_range} and t.updated_at > i.updated_at",
                list(staged.key_range),
            )
            kept_newer = con.execute("select count(*) from losers").fetchone()[0]
        if entity.many_files:
            kept_unchanged = _keep_rows_replaced_since(
                con, entity, incoming, display, in_range, staged.key_range, kept_newer > 0
            )
        if kept_newer or kept_unchanged:
            winners = f"where {key} not in (select * from losers)"
            kept_newer += kept_unchanged
        if entity.many_files:
            _record_replaced_rows(
                con, entity, incoming, display, in_range, staged, winners, load_id
            )
        if "contact_id" in (*entity.required, *entity.optional) and entity.key != "contact_id":
            # The stored rows to replace, found once: the contact each moved
            # row leaves is recorded before the old versions go.
            new_contact = "i.contact_id" if "contact_id" in columns else "cast(null as varchar)"
            con.execute(
                f"create or replace temp table replaced as "
                f"select i.{key} as row_id, t.contact_id as old_contact_id, "
                f"{new_contact} as new_contact_id "
                f"from {incoming} as i join {entity.table} as t on t.{key} = i.{key} "
                f"where {in_range}"
                + (f" and i.{key} not in (select * from losers)" if kept_newer else ""),
                list(staged.key_range),
            )
            con.execute(
                "insert into raw._contact_moves select ?, row_id, old_contact_id, "
                "new_contact_id, ? from replaced "
                "where old_contact_id is distinct from new_contact_id",
                [entity.name, load_id],
            )
            con.execute(
                f"delete from {entity.table} as t where {in_range} and t.{key} in "
                "(select row_id from replaced)",
                list(staged.key_range),
            )
            con.execute("drop table replaced")
        else:
            con.execute(
                f"delete from {entity.table} as t where {in_range} and t.{key} in "
                f"(select {key} from {incoming} as i {winners})",
                list(staged.key_range),
            )
    column_list = ", ".join(_quote(c) for c in columns)
    con.execute(
        f"""
        insert into {entity.table} by name
        select {column_list}, _source_row,
               {sql_string(display)} as _source_file,
               cast(now() as timestamp) as _loaded_at,
               {load_id} as _load_id
        from {incoming} as i
        {winners}
        """
    )
    con.execute("drop table if exists losers")
    return staged.rows - kept_newer, kept_newer - kept_unchanged, kept_unchanged


def _row_hash(alias: str, columns: Sequence[str]) -> str:
    """A fingerprint of a row's values: md5 over `name=value` of its non-null
    columns, in name order. A column that is null (or that a file does not
    have) adds nothing, so a column added to the table later changes no
    fingerprint. Names are compared without case, as DuckDB matches a
    file's `Campaign_ID` to the table's `campaign_id`."""
    parts = ", ".join(
        f"case when {alias}.{_quote(c)} is not null "
        f"then {sql_string(c.lower() + '=')} || cast({alias}.{_quote(c)} as varchar) end"
        for c in sorted(columns, key=str.lower)
    )
    return f"md5(concat_ws(chr(31), {parts}))"


def _data_columns(con: duckdb.DuckDBPyConnection, entity: Entity) -> list[str]:
    schema, table = entity.table.split(".")
    return [
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() "
            "where database_name = current_database() and schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchall()
        if name not in METADATA_COLUMNS
    ]


def _keep_rows_replaced_since(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    incoming: str,
    display: str,
    in_range: str,
    key_range: tuple[str | None, str | None],
    have_losers: bool,
) -> int:
    """Add to `losers` the incoming rows that another file replaced since this
    file's earlier load and that did not change in it; return how many.

    Without this, appending a row to a file loaded before reloads the whole
    file as the later delivery, and its unchanged rows revert the
    corrections that files loaded since delivered: the raw table would
    depend on the order files were loaded in, not on what they hold."""
    key = _quote(entity.key)
    if not con.execute(
        "select exists (select 1 from raw._replaced_rows where entity = ? and source_file = ?)",
        [entity.name, display],
    ).fetchone()[0]:
        return 0  # no row of this file was ever replaced by another file's
    # a row that already loses on updated_at is not counted twice
    not_losing = f"and i.{key} not in (select * from losers)" if have_losers else ""
    con.execute(
        f"""
        create or replace temp table unchanged_rows as
        select i.{key}
        from {incoming} as i
        inner join raw._replaced_rows as r
            on r.entity = ? and r.source_file = ? and r.row_id = cast(i.{key} as varchar)
        inner join {entity.table} as t
            on t.{key} = i.{key}
        where {in_range} and t._source_file <> ? {not_losing}
            and r.row_hash = {_row_hash("i", _incoming_columns(con, incoming))}
        """,
        [entity.name, display, *key_range, display],
    )
    (count,) = con.execute("select count(*) from unchanged_rows").fetchone()
    if count:
        if have_losers:
            con.execute("insert into losers select * from unchanged_rows")
        else:
            con.execute("create or replace temp table losers as select * from unchanged_rows")
    con.execute("drop table unchanged_rows")
    return count


def _incoming_columns(con: duckdb.DuckDBPyConnection, incoming: str) -> list[str]:
    """The data columns of a staged file (without its row number)."""
    names = [d[0] for d in con.execute(f"select * from {incoming} limit 0").description]
    return [name for name in names if name != "_source_row"]


def _record_replaced_rows(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    incoming: str,
    display: str,
    in_range: str,
    staged: Staged,
    winners: str,
    load_id: int,
) -> None:
    """Before the stored rows of other files are replaced by this file's,
    record their fingerprints (the latest per row and file)."""
    key = _quote(entity.key)
    if not con.execute(
        f"select exists (select 1 from {entity.table} as t "
        f"where {in_range} and t._source_file <> ?)",
        [*staged.key_range, display],
    ).fetchone()[0]:
        return  # the ids in range are all this file's own (a grown file reloaded)
    con.execute(
        f"""
        create or replace temp table replaced_versions as
        select
            cast(t.{key} as varchar) as row_id,
            t._source_file as source_file,
            {_row_hash("t", _data_columns(con, entity))} as row_hash
        from {entity.table} as t
        where {in_range} and t._source_file <> ?
            and t.{key} in (select i.{key} from {incoming} as i {winners})
        """,
        [*staged.key_range, display],
    )
    con.execute(
        """
        delete from raw._replaced_rows as r
        using replaced_versions as v
        where r.entity = ? and r.row_id = v.row_id and r.source_file = v.source_file
        """,
        [entity.name],
    )
    con.execute(
        "insert into raw._replaced_rows "
        "select ?, row_id, source_file, row_hash, ? from replaced_versions",
        [entity.name, load_id],
    )
    con.execute("drop table replaced_versions")


def load_entity(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    entity: Entity,
    log: Callable[[str], None] = lambda _: None,
) -> EntityLoad:
    """Load every new or changed file of one entity; raise LoadFailed if any was rejected."""
    ensure_schemas(con)
    result = EntityLoad(entity=entity.name)
    files = entity.files(landing_dir)
    folder_error = None
    if not files and not entity.may_be_absent:
        folder_error = LandingError(
            entity.pattern,
            f"required landing file is missing (looked in {landing_dir / entity.folder})"
            + _case_near_misses(landing_dir, entity),
        )
    elif not entity.many_files and len(files) > 1:
        folder_error = LandingError(
            entity.pattern, f"more than one file: {[f.name for f in files]}; keep exactly one"
        )
    if folder_error is not None:
        # Recorded like a rejected file, so that audit.rejected_files (which
        # the failure message points to) holds every reason a load failed.
        _record_rejection(con, entity, entity.pattern, None, folder_error)
        raise LoadFailed(entity.name, [folder_error])
    _ensure_table(con, entity, list(entity.required))

    for path in files:
        display = str(path.relative_to(landing_dir))
        stat = path.stat()
        # The file's last version only (its last load, or its last skip as a
        # duplicate): an earlier version restored with its old mtime (a backup
        # copied back with `cp -p`) is a change to load again.
        seen = _last_version(con, entity, display)
        if seen and (seen[1], seen[2]) == (stat.st_size, stat.st_mtime_ns):
            result.files_skipped.append(display)
            if seen[3] is not None:
                result.files_duplicate[display] = seen[3]
            continue
        sha = None
        try:
            if stat.st_size == 0:
                raise LandingError(
                    display, "file is empty (zero bytes); a file needs at least a header row"
                )
            sha = _fingerprint_and_check_utf8(path, path.suffix.lower() != ".parquet")
            if seen and seen[0] == sha and seen[3] is None:
                # Same content, touched file: record the new mtime, load nothing.
                _log_load(con, entity, display, stat, sha, 0, 0)
                result.files_skipped.append(display)
                continue
            earlier = _identical_loaded_file(con, entity, display, sha)
            if earlier is not None:
                con.execute(
                    "insert into audit.duplicate_files values "
                    "(?, ?, ?, ?, ?, ?, cast(now() as timestamp))",
                    [entity.name, display, sha, stat.st_size, stat.st_mtime_ns, earlier],
                )
                log(f"{entity.name}: {display}: identical to {earlier}, already loaded; skipped")
                result.files_skipped.append(display)
                result.files_duplicate[display] = earlier
                continue
            log(f"{entity.name}: reading {display} ({stat.st_size / 1e6:.1f} MB)")
            staged = _stage_file(con, entity, path, display)
            con.execute("begin transaction")
            try:
                load_id = _log_load(con, entity, display, stat, sha, 0, 0)
                upserted, kept, unchanged = _merge_incoming(con, entity, staged, display, load_id)
                rows = upserted + kept + unchanged
                con.execute(
                    "update raw._load_log set row_count = ?, rows_upserted = ? where load_id = ?",
                    [rows, upserted, load_id],
                )
                con.execute("commit")
            except duckdb.Error as exc:
                con.execute("rollback")
                if not staged.reads_file:
                    raise
                # The merge is the first full read of a Parquet file: a column
                # that cannot be decoded rejects the file, as in staging.
                raise LandingError(display, f"cannot be parsed: {_first_line(exc)}") from None
            except BaseException:
                con.execute("rollback")
                raise
            finally:
                con.execute("drop table if exists incoming_text")
        except LandingError as error:
            if error.file != display:
                error = LandingError(display, error.message, error.row, error.column, error.value)
            _record_rejection(con, entity, display, sha, error)
            result.errors.append(error)
            continue
        result.files_loaded.append(display)
        result.rows_in_files += rows
        result.rows_upserted += upserted
        result.rows_kept_newer += kept
        result.rows_kept_unchanged += unchanged
        log(
            f"{entity.name}: {display}: {rows} rows, {upserted} upserted"
            + (
                f", {unchanged} kept as a later file replaced them (unchanged in this file)"
                if unchanged
                else ""
            )
        )
    result.table_rows = con.execute(f"select count(*) from {entity.table}").fetchone()[0]
    if result.errors:
        raise LoadFailed(entity.name, result.errors)
    return result


def _case_near_misses(landing_dir: Path, entity: Entity) -> str:
    """A hint naming the files that would match the entity's pattern but for letter case.

    Only called when no file matches. File names are matched case-sensitively
    (only the extension is not): `crm/Contacts.csv` is not `crm/contacts.*`.
    """
    folders = [p for p in landing_dir.iterdir() if p.is_dir()] if landing_dir.is_dir() else []
    near = sorted(
        f"{path.parent.name}/{path.name}"
        for folder in folders
        if folder.name.lower() == entity.folder
        for path in folder.iterdir()
        if path.is_file()
        and path.suffix.lower() in EXTENSIONS
        and (
            path.stem.lower().startswith(entity.stem)
            if entity.many_files
            else path.stem.lower() == entity.stem
        )
    )
    if not near:
        return ""
    which = f"{near[0]} differs" if len(near) == 1 else f"{', '.join(near)} differ"
    return f"; {which} only in letter case (names are case-sensitive): rename to match"


def _last_version(
    con: duckdb.DuckDBPyConnection, entity: Entity, display: str
) -> tuple[str, int, int, str | None] | None:
    """The last version of a landing file seen: (sha256, size, mtime, duplicate_of).

    Its last load, or its last skip as a copy of another file (duplicate_of
    names that file), whichever came later; None for a file never seen.
    """
    return con.execute(
        """
        with last_load as (
            select sha256, size_bytes, mtime_ns, null as duplicate_of, loaded_at as seen_at
            from raw._load_log
            where entity = $entity and source_file = $file
            order by load_id desc
            limit 1
        ),
        last_skip as (
            select sha256, size_bytes, mtime_ns, duplicate_of, skipped_at as seen_at
            from audit.duplicate_files
            where entity = $entity and source_file = $file
            order by skipped_at desc
            limit 1
        )
        select sha256, size_bytes, mtime_ns, duplicate_of
        from (select * from last_load union all select * from last_skip)
        order by seen_at desc
        limit 1
        """,
        {"entity": entity.name, "file": display},
    ).fetchone()


def _identical_loaded_file(
    con: duckdb.DuckDBPyConnection, entity: Entity, display: str, sha: str
) -> str | None:
    """The first file of the entity loaded with this content under another name.

    SPEC section 2: loading the same file twice changes nothing, whatever its
    name. A copy loaded again would win over the files loaded since (the later
    file wins) and revert the rows they corrected. Not a duplicate: an earlier
    version of this same file, restored (it was loaded under this name).
    """
    row = con.execute(
        """
        select source_file from raw._load_log
        where entity = $entity and sha256 = $sha and source_file <> $file
          and not exists (
              select 1 from raw._load_log
              where entity = $entity and sha256 = $sha and source_file = $file
          )
        order by load_id
        limit 1
        """,
        {"entity": entity.name, "sha": sha, "file": display},
    ).fetchone()
    return None if row is None else row[0]


def _log_load(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    display: str,
    stat: os.stat_result,
    sha: str,
    rows: int,
    upserted: int,
) -> int:
    load_id = con.execute("select coalesce(max(load_id), 0) + 1 from raw._load_log").fetchone()[0]
    con.execute(
        "insert into raw._load_log values (?, ?, ?, ?, ?, ?, ?, ?, cast(now() as timestamp))",
        [load_id, entity.name, display, stat.st_size, stat.st_mtime_ns, sha, rows, upserted],
    )
    return int(load_id)


def _record_rejection(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    display: str,
    sha: str | None,
    error: LandingError,
) -> None:
    con.execute(
        "insert into audit.rejected_files values (?, ?, ?, ?, ?, ?, ?, cast(now() as timestamp))",
        [entity.name, display, sha, error.row, error.column, error.value, error.message],
    )


def preview_markdown(con: duckdb.DuckDBPyConnection, table: str, limit: int = 5) -> str:
    """The first rows of a table as a Markdown table (asset metadata preview)."""
    cursor = con.execute(
        f"select * exclude ({', '.join(METADATA_COLUMNS)}) "
        f"from {table} order by 1 limit {int(limit)}"
    )
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    out = io.StringIO()
    out.write("| " + " | ".join(names) + " |\n")
    out.write("|" + "---|" * len(names) + "\n")
    for row in rows:
        cells = ["" if v is None else str(v).replace("|", "\\|") for v in row]
        out.write("| " + " | ".join(cells) + " |\n")
    return out.getvalue()


def ignored_files(landing_dir: Path) -> list[str]:
    """Visible files under the landing folder that no entity loads (a second
    `crm/contacts_2.csv`, `crm/leads.csv`, `contacts.xlsx`), relative, sorted.
    Hidden files and folders (`.leadscore-demo-data`, editors' swap files) are
    not files anyone delivered."""
    if not landing_dir.is_dir():
        return []
    loaded = {path for entity in ENTITIES.values() for path in entity.files(landing_dir)}
    ignored = []
    for folder, dirs, names in os.walk(landing_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            path = Path(folder) / name
            if not name.startswith(".") and path not in loaded:
                ignored.append(path.relative_to(landing_dir).as_posix())
    return sorted(ignored)


def load_landing(
    settings: Settings, log: Callable[[str], None] = lambda _: None
) -> dict[str, EntityLoad]:
    """Load every entity (outside Dagster: tests, scripts). Raise LoadFailed listing all rejects."""
    loads: dict[str, EntityLoad] = {}
    errors: list[LandingError] = []
    con = connect(settings.warehouse_path)
    try:
        for entity in ENTITIES.values():
            try:
                loads[entity.name] = load_entity(con, settings.landing_dir, entity, log)
            except LoadFailed as failed:
                errors.extend(failed.errors)
    finally:
        con.close()
    if errors:
        raise LoadFailed("landing", errors)
    return loads
