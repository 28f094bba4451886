"""The output file of `digitlab batch`: JSON Lines or Parquet, one row per image, written atomically.

Usage:

    with open_output(Path("readings.parquet"), "parquet") as output:
        errors = output.write(['{"path": "a.png", "prediction": "7", ...}', ...])   # predict --json lines

JSON Lines: exactly the lines `digitlab predict --json` prints. Parquet: the
same fields as columns (SCHEMA): path, prediction, confidence, digits (a list
of {digit, confidence, box, probabilities}) and error; a readable image has
no error, an unreadable one only path and error. Rows are written as they
come, in row groups, into a partial file beside OUT (digitlab.formats.atomic_path),
renamed to OUT only when every row is in: an interrupted job never leaves a
file that looks complete.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

from digitlab.errors import UserError
from digitlab.formats import atomic_path

OUTPUT_FORMATS = ("parquet", "jsonl")


def _schema():
    import pyarrow as arrow  # heavy: pyarrow comes with digitlab[ray]

    digit = arrow.struct([("digit", arrow.int64()), ("confidence", arrow.float64()),
                          ("box", arrow.list_(arrow.int64())), ("probabilities", arrow.list_(arrow.float64()))])
    return arrow.schema([("path", arrow.string()), ("prediction", arrow.string()), ("confidence", arrow.float64()),
                         ("digits", arrow.list_(digit)), ("error", arrow.string())])


class _JsonLines:
    def __init__(self, path: Path):
        self._file = open(path, "w", encoding="utf-8")

    def write(self, lines: list[str]) -> int:
        self._file.write("".join(line + "\n" for line in lines))
        return sum("error" in json.loads(line) for line in lines)

    def close(self) -> None:
        self._file.close()


class _Parquet:
    def __init__(self, path: Path):
        import pyarrow.parquet as parquet  # heavy: pyarrow comes with digitlab[ray]

        self.schema = _schema()
        self._writer = parquet.ParquetWriter(path, self.schema)

    def write(self, lines: list[str]) -> int:
        import pyarrow as arrow  # heavy: (loaded already by the writer)

        records = [json.loads(line) for line in lines]
        if records:
            self._writer.write_table(arrow.Table.from_pylist(records, schema=self.schema))
        return sum("error" in record for record in records)

    def close(self) -> None:
        self._writer.close()


@contextmanager
def open_output(path: Path, output_format: str):
    """A writer of `output_format` rows into `path` (see the module doc); `write` returns the error rows' count."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder; --out names the output file.")
    with atomic_path(path) as partial:
        writer = _Parquet(partial) if output_format == "parquet" else _JsonLines(partial)
        try:
            yield writer
        finally:
            writer.close()
