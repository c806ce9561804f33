from __future__ import annotations

from pathlib import Path

import pytest

from textbatch.errors import InputError
from textbatch.io.csv_table import TEXT_COLUMNS, open_table


def write(tmp_path: Path, data: bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rows(path: Path) -> list[tuple[int, int, list[str]]]:
    with open_table(path) as table:
        return [(r.row, r.line, r.fields) for r in table.records()]


def test_rfc4180_quoting_bom_crlf_and_unicode(tmp_path: Path) -> None:
    data = (
        "\ufeffid,text\r\n"
        '1,"commas, inside"\r\n'
        '2,"she said ""no"""\r\n'
        '3,"two\r\nlines"\r\n'
        "4,Zoë à 40 °C 🔥\r\n"
    ).encode()
    path = write(tmp_path, data)
    with open_table(path) as table:
        assert table.header == ["id", "text"]  # the BOM is not part of the first name
    assert rows(path) == [
        (1, 2, ["1", "commas, inside"]),
        (2, 3, ["2", 'she said "no"']),
        (3, 4, ["3", "two\r\nlines"]),
        (4, 6, ["4", "Zoë à 40 °C 🔥"]),
    ]


def test_blank_lines_are_not_records(tmp_path: Path) -> None:
    assert [r[0] for r in rows(write(tmp_path, b"text\na\n\n\nb\n"))] == [1, 2]


def test_a_field_of_several_megabytes(tmp_path: Path) -> None:
    big = "word " * 600_000  # 3 MB, beyond csv's default 128 kB field limit
    path = write(tmp_path, f'text\n"{big}"\nsmall\n'.encode())
    assert [len(r[2][0]) for r in rows(path)] == [len(big), 5]


def test_not_utf8_names_the_file_and_the_row(tmp_path: Path) -> None:
    path = write(tmp_path, "text\nok\ncaf\u00e9\n".encode("latin-1"), name="latin.csv")
    with pytest.raises(InputError) as info:
        rows(path)
    assert "latin.csv is not UTF-8" in str(info.value)
    assert "byte 0xe9 at line 3 (byte offset 11)" in str(info.value)
    assert "UTF-8" in info.value.hint


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"text\nok\nend \xe2\x82", "byte 0xe2 at line 3 (byte offset 12)"),  # cut at the end
        (b"x" * ((1 << 20) - 1) + b"\xe2\x82\n", "byte 0xe2 at line 1 (byte offset 1048575)"),
    ],
)
def test_a_character_cut_at_the_end_or_by_a_block_is_found_where_it_starts(
    tmp_path: Path, data: bytes, where: str
) -> None:
    with pytest.raises(InputError) as info:
        rows(write(tmp_path, data))
    assert where in str(info.value)


@pytest.mark.parametrize(
    ("data", "word"),
    [(b"id;text;category\n1;Kettle broke;fire\n", "semicolon"), (b"text\tlabel\na\tb\n", "tab")],
)
def test_another_delimiter_is_refused_with_one_line_naming_it(
    tmp_path: Path, data: bytes, word: str
) -> None:
    with pytest.raises(InputError) as info:
        open_table(write(tmp_path, data, name="excel.csv"))
    assert str(info.value).startswith(f"{tmp_path / 'excel.csv'} looks {word}-separated")
    assert "comma-separated" in info.value.hint


def test_a_one_column_file_whose_texts_hold_semicolons_is_still_read(tmp_path: Path) -> None:
    assert rows(write(tmp_path, b"text\nbroke; twice\n")) == [(1, 2, ["broke; twice"])]


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"empty.csv is empty"):
        open_table(write(tmp_path, b"", name="empty.csv"))


def test_a_stray_quote_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, b'text\nfine\nbad "quote"here,\n"also bad"x\n', name="q.csv")
    with pytest.raises(InputError, match=r"q.csv: cannot parse CSV at line 4"):
        rows(path)


def test_text_column_detection(tmp_path: Path) -> None:
    with open_table(write(tmp_path, b"id,Review,score\n")) as table:
        assert table.column(None, candidates=TEXT_COLUMNS, role="text") == 1
    with open_table(write(tmp_path, b"body\n")) as table:
        assert table.column(None, candidates=TEXT_COLUMNS, role="text", besides=()) == 0
    with open_table(write(tmp_path, b"id,body\n", name="two.csv")) as table:
        with pytest.raises(InputError, match=r"two.csv has no text column") as info:
            table.column(None, candidates=TEXT_COLUMNS, role="text", besides=())
        assert "--text-column" in info.value.hint
        with pytest.raises(InputError, match=r"no column named 'Body'; its columns are"):
            table.column("Body", candidates=TEXT_COLUMNS, role="text")


@pytest.mark.parametrize("big_row_chars", [1_000_000, 0], ids=["whole-row", "field-at-a-time"])
def test_the_row_writer_writes_what_csv_writer_writes(monkeypatch, big_row_chars: int) -> None:
    import csv
    import io

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from textbatch.io.csv_table import RowWriter

    alphabet = st.sampled_from([*"a ,\"\n\r\t\x00\x0b;'=é€\u2028", "\udcff", "😀"])

    @settings(max_examples=400, deadline=None)
    @given(st.lists(st.text(alphabet=alphabet, max_size=8), max_size=5))
    def check(row: list[str]) -> None:
        expected = io.StringIO(newline="")
        csv.writer(expected).writerow(row)
        written = io.StringIO(newline="")
        RowWriter(written).writerow(row)
        assert written.getvalue() == expected.getvalue()

    monkeypatch.setattr(RowWriter, "BIG_ROW_CHARS", big_row_chars)
    check()
