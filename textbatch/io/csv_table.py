"""The one CSV module: every job, the benchmark and the CLI read and write CSV through it.

RFC 4180 as the csv module's strict reader parses it (a stray quote is an error, not a field
that swallows the rest), with fields up to MAX_FIELD_CHARS; quoted commas, quotes and newlines,
a UTF-8 byte-order mark, CRLF line ends; blank lines are not records. `CsvTable` streams a
local file's decoded records with errors that name the file, the line and what to do;
`raw_records` streams a binary stream's records as the bytes they were (the split job cuts on
them, so a part holds exactly what the predict job would have read there).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from textbatch.errors import InputError

MAX_FIELD_CHARS = 256 * 1024 * 1024  # one field; the csv module's default is 131,072
ENCODING = "utf-8"
RAW_ERRORS = "surrogateescape"  # raw_records: bytes that are not UTF-8 survive unchanged
PARSE_HINT = "check that quotes are balanced and the file is plain CSV text"
TEXT_COLUMNS = ("text", "review")
LABEL_COLUMNS = ("label", "sentiment", "category", "class")


@dataclass(frozen=True)
class CsvRecord:
    row: int  # 1-based data row (the header is not counted)
    line: int  # the file line on which the record starts
    fields: list[str]


def reader(lines: Iterable[str]) -> Any:
    """The csv reader every textbatch reader uses: strict, fields up to MAX_FIELD_CHARS. (The
    csv module keeps its field limit process-wide; it is set here, where reading starts.)"""
    csv.field_size_limit(MAX_FIELD_CHARS)
    return csv.reader(lines, strict=True)


# What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(field: str) -> str:
    """A cell a spreadsheet shows as text: `'` before a formula's first character."""
    return "'" + field if field.startswith(FORMULA_STARTS) else field


def writer(stream: IO[str], *, neutralise_formulas: bool = False) -> RowWriter:
    """The csv writer every textbatch output uses (quotes only where needed, CRLF rows);
    with `neutralise_formulas`, cells that start like a formula are written as text."""
    return RowWriter(stream, neutralise_formulas=neutralise_formulas)


def quoted(field: str) -> str:
    """A field as csv.writer's default dialect writes it (QUOTE_MINIMAL): in quotes, its
    quotes doubled, when it holds a comma, a quote, CR or LF; else as it is."""
    if '"' in field:
        return '"' + field.replace('"', '""') + '"'
    if "," in field or "\n" in field or "\r" in field:
        return '"' + field + '"'
    return field


class RowWriter:
    """csv.writer's rows of str fields, byte for byte (tested against it), at a fraction of
    its cost: the csv module copies every character of a row through a 4-bytes-per-character
    buffer, about 20 ns a character (28 us for a 1,300-character review, most of a predict
    job's main process), where `quoted` scans a field with str's C searches and copies it
    once. A row over BIG_ROW_CHARS is written a field at a time, without the whole row as one
    string (a field's quoting does not depend on its neighbours, except a row of one empty
    field, which is not big)."""

    BIG_ROW_CHARS = 1_000_000

    def __init__(self, stream: IO[str], *, neutralise_formulas: bool = False) -> None:
        self._stream = stream
        self._neutralise = neutralise_formulas

    def writerow(self, row: list[str]) -> None:
        if self._neutralise:
            row = [neutralised(field) for field in row]
        if row == [""]:  # csv.writer's one case that depends on the whole row
            self._stream.write('""\r\n')
        elif sum(map(len, row)) <= self.BIG_ROW_CHARS:
            self._stream.write(",".join(map(quoted, row)) + "\r\n")
        else:
            for i, field in enumerate(row):
                if i:
                    self._stream.write(",")
                self._stream.write(quoted(field))
            self._stream.write("\r\n")

    def writerows(self, rows: Iterable[list[str]]) -> None:
        for row in rows:
            self.writerow(row)


def raw_records(stream: IO[bytes], name: str) -> Iterator[tuple[bytes, int, bool]]:
    """Each record's raw bytes, the file line it ends on, and whether it is blank."""
    text = io.TextIOWrapper(stream, encoding=ENCODING, errors=RAW_ERRORS, newline="")  # type: ignore[arg-type]
    pending: list[str] = []

    def lines() -> Iterator[str]:
        for line in text:
            pending.append(line)
            yield line

    parsed = reader(lines())
    while True:
        try:
            fields = next(parsed)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(
                f"{name}: cannot parse CSV at line {parsed.line_num}: {exc}", hint=PARSE_HINT
            ) from exc
        raw = "".join(pending).encode(ENCODING, RAW_ERRORS)
        pending.clear()
        yield raw, parsed.line_num, not fields


class CsvTable:
    """One CSV file: its header, then its records in order, read lazily."""

    def __init__(self, path: Path, *, name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or str(path)
        self._bytes: IO[bytes] = open(self.path, "rb")  # noqa: SIM115
        self._file = io.TextIOWrapper(self._bytes, encoding="utf-8-sig", newline="")
        self._reader = reader(self._file)
        self.size = self.path.stat().st_size
        self._next_line = 1
        first = self._read()
        if first is None:
            self.close()
            raise InputError(
                f"{self.name} is empty: no header row and no data",
                hint="upload a CSV whose first line names the columns, e.g. 'text'",
            )
        self.header: list[str] = first[1]
        try:
            check_delimiter(self.header, self.name)
        except InputError:
            self.close()
            raise
        if self.header and self.header[0].lstrip()[:1] in ("{", "["):
            self.close()
            raise InputError(
                f"{self.name} looks like JSON, not CSV (it starts with "
                f"{_shorten(self.header[0], 20)!r})",
                hint="upload a CSV whose first line names the columns, e.g. 'text'",
            )

    def __enter__(self) -> CsvTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def bytes_read(self) -> int:
        """How far reading has got, in bytes (read ahead in blocks: for progress only)."""
        return self._bytes.tell()

    def records(self) -> Iterator[CsvRecord]:
        row = 0
        while (item := self._read()) is not None:
            row += 1
            yield CsvRecord(row=row, line=item[0], fields=item[1])

    def _read(self) -> tuple[int, list[str]] | None:
        """The next non-blank record and the line it starts on, or None at the end."""
        while True:
            start = self._next_line
            try:
                fields = next(self._reader)
            except StopIteration:
                return None
            except UnicodeDecodeError as exc:
                offset, line, byte = _first_bad_utf8(self.path)
                raise InputError(
                    f"{self.name} is not UTF-8 text: byte 0x{byte:02x} at line {line} "
                    f"(byte offset {offset}) is not valid UTF-8",
                    hint="save the file as CSV UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')",
                ) from exc
            except csv.Error as exc:
                raise InputError(
                    f"{self.name}: cannot parse CSV at line {start}: {exc}", hint=PARSE_HINT
                ) from exc
            self._next_line = self._reader.line_num + 1
            if fields:
                return start, fields

    def column(
        self,
        wanted: str | None,
        *,
        candidates: tuple[str, ...],
        role: str,
        besides: tuple[int, ...] | None = None,
    ) -> int:
        """Index of the column to use: `wanted`, else the first candidate present, else (when
        `besides` is given) the only column not in `besides`. A name the header has twice is
        an error (which one is meant cannot be known), and so is a file whose only column is
        headed by what looks like a text: it has no header row, and its first text would be
        lost as the column's name."""
        if wanted is not None:
            if wanted in self.header:
                return self._once([n == wanted for n in self.header], wanted, role)
            raise InputError(
                f"{self.name} has no column named {wanted!r}; its columns are {self.header}",
                hint=f"pass the {role} column's exact name",
            )
        lowered = [name.strip().lower() for name in self.header]
        for candidate in candidates:
            if candidate in lowered:
                return self._once([n == candidate for n in lowered], candidate, role)
        if besides is not None:
            rest = [i for i in range(len(self.header)) if i not in besides]
            if len(rest) == 1:
                if len(self.header) == 1 and looks_like_text(self.header[0]):
                    raise InputError(
                        f"{self.name} has one column, and its first line "
                        f"{_shorten(self.header[0])!r} looks like a text, not a column name: "
                        "the file seems to have no header row",
                        hint=f"add a first line naming the column ({candidates[0]}), then "
                        "upload the file again",
                    )
                return rest[0]
        raise InputError(
            f"{self.name} has no {role} column: expected one named {' or '.join(candidates)}, "
            f"found {self.header}",
            hint=f"rename the column, or pass --{role}-column NAME"
            + ("; if the file has no header row, add one" if role == "text" else ""),
        )

    def _once(self, matches: list[bool], name: str, role: str) -> int:
        found = [i for i, match in enumerate(matches) if match]
        if len(found) > 1:
            raise InputError(
                f"{self.name} has {len(found)} columns named {name!r} (columns "
                f"{', '.join(str(i + 1) for i in found)}): which one is the {role} is not clear",
                hint="rename all but one of them, then upload the file again",
            )
        return found[0]


# What spreadsheets write instead of commas: Excel in locales whose decimal mark is a comma
# writes `;`, and "Text (Tab delimited)" writes tabs.
OTHER_DELIMITERS = {";": "semicolon", "\t": "tab"}


def check_delimiter(header: list[str], name: str) -> None:
    """Refuse a file whose header is one column that another delimiter splits into several
    names: read as comma-separated, each whole line would become the text, and the output would
    mix delimiters. Refused rather than guessed: the header alone cannot prove how the rows are
    delimited (a text may hold `;`), and every job, part and merge reads the one dialect."""
    if len(header) != 1:
        return
    for delimiter, word in OTHER_DELIMITERS.items():
        names = [n.strip() for n in header[0].split(delimiter)]
        if len(names) >= 2 and all(names):
            raise InputError(
                f"{name} looks {word}-separated: its header {_shorten(header[0])!r} is one "
                f"column holding {word}s ({len(names)} names); textbatch reads comma-separated "
                "CSV",
                hint="save the file as comma-separated CSV (in Excel: 'CSV UTF-8 (Comma "
                "delimited)'; where Excel uses ';' there, change the list separator or export "
                "from another tool), then upload it again",
            )


def looks_like_text(cell: str) -> bool:
    """A header cell that reads as a sentence rather than a column name: several words, or a
    sentence's punctuation at its end. Column names (`text`, `review body`, `Kommentar`) do not."""
    cell = cell.strip()
    return len(cell.split()) >= 4 or (len(cell) > 1 and cell[-1] in ".!?")


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_bad_utf8(path: Path) -> tuple[int, int, int]:
    """Byte offset, 1-based line and value of the first byte that is not valid UTF-8.

    Text decoding works in blocks, so the error itself does not say where; this re-reads. A
    character cut by a block boundary, or by the end of the file, is found where it starts."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 1  # bytes and lines before `block`
    held = b""  # the start of a character that the previous block ended in
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            final = not block
            data = held + block
            try:
                decoder.decode(block, final=final)
            except UnicodeDecodeError as exc:
                at = exc.start  # an index into `data`: held bytes come first
                start = offset - len(held)
                return (
                    start + at,
                    lines + data.count(b"\n", len(held), max(at, len(held))),
                    data[at],
                )
            if final:
                return offset, lines, 0
            held = decoder.getstate()[0]
            offset += len(block)
            lines += block.count(b"\n")


def open_table(path: Path, *, name: str | None = None) -> CsvTable:
    try:
        return CsvTable(path, name=name)
    except FileNotFoundError as exc:
        raise InputError(f"{name or path}: no such file", hint="check the path") from exc
