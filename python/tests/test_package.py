"""The package imports and carries the tool's version."""
import os
import subprocess

import qimplant


def test_version_matches_the_tool():
    cli = os.environ.get("QIMPLANT_CLI")
    assert cli, "QIMPLANT_CLI is set by ctest"
    out = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True).stdout
    assert qimplant.__version__ in out, (qimplant.__version__, out)
