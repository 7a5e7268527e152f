"""q-implant's Python side.

- ``qimplant.implant``, ``check``, ``inspect`` and ``eval`` run the q-implant tool and return
  its reports as dicts, raising ``qimplant.Error`` with the tool's message (qimplant/api.py;
  in-process through the compiled ``qimplant_native`` when it is built, else the binary).
- ``qimplant.torch`` exports the quantization parameters of a PyTorch model as the
  qparam.json + npy files (and the graph description) that the tool reads.

``__version__`` is the tool's version: CMakeLists.txt's project(VERSION) is the source, and the
ctest ``python_version`` fails when this copy differs from it.
"""

__version__ = "0.1.0"

from .api import Error, backend, check, cli_path, eval, implant, inspect  # noqa: E402,F401  (eval: the CLI's name)
