"""`pip install --no-build-isolation --no-index ./python` works offline with Debian's setuptools,
into a temporary virtual environment that sees the system's numpy, and the installed package
carries the tool's version and runs it."""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
EXAMPLE = os.path.join(PACKAGE, os.pardir, "examples", "conv2d", "Conv2D_000.circle")


def test_pip_install_offline(tmp_path):
    # A copy, so that the in-tree build's build/ and *.egg-info stay out of the source tree.
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src, ignore=shutil.ignore_patterns(
        "tests", "__pycache__", "build", "*.egg-info"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONPATH="")
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-index",
                    str(src)], check=True, env=env, cwd=tmp_path)
    probe = (
        "import importlib.metadata as m, json, qimplant;"
        "print(json.dumps([qimplant.__file__, qimplant.__version__, m.version('qimplant'),"
        " len(qimplant.inspect(%r)['subgraphs'])]))" % os.path.abspath(EXAMPLE))
    out = subprocess.run([py, "-c", probe], check=True, env=env, cwd=tmp_path,
                         capture_output=True, text=True).stdout
    import json
    path, version, dist_version, subgraphs = json.loads(out)
    assert path.startswith(str(venv)), path
    cli = os.environ["QIMPLANT_CLI"]
    tool = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True).stdout
    assert tool == "q-implant %s\n" % version
    assert dist_version == version
    assert subgraphs == 1
