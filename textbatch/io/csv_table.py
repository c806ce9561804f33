"""Stream RFC 4180 CSV records from a local file, with errors that name the file and the row.

Handles quoted commas, quotes and newlines, a UTF-8 byte-order mark, CRLF line ends and
fields of many megabytes. Blank lines are not records.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from textbatch.errors import InputError

csv.field_size_limit(256 * 1024 * 1024)

TEXT_COLUMNS = ("text", "review")
LABEL_COLUMNS = ("label", "sentiment", "category", "class")


@dataclass(frozen=True)
class CsvRecord:
    row: int  # 1-based data row (the header is not counted)
    line: int  # the file line on which the record starts
    fields: list[str]


class CsvTable:
    """One CSV file: its header, then its records in order, read lazily."""

    def __init__(self, path: Path, *, name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or str(path)
        self._bytes: IO[bytes] = open(self.path, "rb")  # noqa: SIM115
        self._file = io.TextIOWrapper(self._bytes, encoding="utf-8-sig", newline="")
        # strict: a stray quote is an error, not a field that silently swallows the rest
        self._reader = csv.reader(self._file, strict=True)
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
                    f"{self.name}: cannot parse CSV at line {start}: {exc}",
                    hint="check that quotes are balanced and the file is plain CSV text",
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
        `besides` is given) the only column not in `besides`."""
        if wanted is not None:
            if wanted in self.header:
                return self.header.index(wanted)
            raise InputError(
                f"{self.name} has no column named {wanted!r}; its columns are {self.header}",
                hint=f"pass the {role} column's exact name",
            )
        lowered = [name.strip().lower() for name in self.header]
        for candidate in candidates:
            if candidate in lowered:
                return lowered.index(candidate)
        if besides is not None:
            rest = [i for i in range(len(self.header)) if i not in besides]
            if len(rest) == 1:
                return rest[0]
        raise InputError(
            f"{self.name} has no {role} column: expected one named {' or '.join(candidates)}, "
            f"found {self.header}",
            hint=f"rename the column, or pass --{role}-column NAME"
            + ("; if the file has no header row, add one" if role == "text" else ""),
        )


def _first_bad_utf8(path: Path) -> tuple[int, int, int]:
    """Byte offset, 1-based line and value of the first byte that is not valid UTF-8.

    Text decoding works in blocks, so the error itself does not say where; this re-reads."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 1
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            pending = len(decoder.getstate()[0])  # bytes of a character split across blocks
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                bad = max(0, exc.start - pending)
                return offset + bad, lines + block.count(b"\n", 0, bad), block[bad]
            offset += len(block)
            lines += block.count(b"\n")
    return offset, lines, 0


def open_table(path: Path, *, name: str | None = None) -> CsvTable:
    try:
        return CsvTable(path, name=name)
    except FileNotFoundError as exc:
        raise InputError(f"{name or path}: no such file", hint="check the path") from exc
