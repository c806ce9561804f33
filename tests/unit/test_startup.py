"""The command line starts without importing torch; only training and prediction need it."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_and_the_operations_commands_do_not_import_torch() -> None:
    code = (
        "import sys, textbatch.cli.main, textbatch.cloud.story, textbatch.cloud.history;"
        "textbatch.cli.main.build_parser();"
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
