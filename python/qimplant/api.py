"""Run q-implant from Python: implant, check, inspect and eval, returning what the tool reports.

Each function runs a q-implant command and reads the JSON it writes (``--json`` on stdout, or
``--report`` for check), so the dicts are exactly the tool's ``--report`` / ``--json``
documents. The command runs in-process through the compiled binding ``qimplant_native`` when it
can be imported (built by the project's CMake from the binary's own command code, same
version), else as the q-implant binary (the QIMPLANT_CLI environment variable, else
``q-implant`` on PATH); ``QIMPLANT_BACKEND=cli`` forces the binary. Both give the same results. Keyword options
are the command-line options by name: ``rules="tflite"`` is ``--rules tflite``,
``keep_float=["a", "b"]`` is ``--keep-float a,b``, ``no_derive="bias"``, ``allow_float=True`` is
``--allow-float`` (False or None leaves an option out). A failure raises :class:`Error` with
the tool's one-line message.
"""
import json
import os
import shutil
import subprocess

__all__ = ["Error", "implant", "check", "inspect", "eval", "cli_path", "backend"]


class Error(Exception):
    """q-implant refused an input or a command line.

    ``str(error)`` is the tool's message without the ``q-implant: error:`` prefix (its first
    line); ``details`` holds everything the tool printed on stderr, ``returncode`` its exit
    status (1: a wrong input, 2: bad usage) and ``command`` the argument list that ran.
    """

    def __init__(self, message, details="", returncode=None, command=None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.returncode = returncode
        self.command = command


def cli_path():
    """The q-implant binary these functions run."""
    path = os.environ.get("QIMPLANT_CLI") or shutil.which("q-implant")
    if not path:
        raise Error("cannot find the q-implant binary: set QIMPLANT_CLI to its path or put "
                    "q-implant on PATH")
    return path


def _flags(options):
    args = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            args.append(flag)
        elif isinstance(value, (list, tuple)):
            args += [flag, ",".join(str(v) for v in value)]
        else:
            args += [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return args


def _message(stderr):
    """The tool's one-line message: the first error line, else the first line."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("q-implant: error: "):
            return line[len("q-implant: error: "):]
    if not lines:
        return "q-implant failed without a message"
    first = lines[0]
    for prefix in ("q-implant eval: ", "q-implant: "):
        if first.startswith(prefix):
            return first[len(prefix):]
    return first


class _Completed:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _native():
    """The binding module, when it can be used: importable and of this package's version."""
    if os.environ.get("QIMPLANT_BACKEND") == "cli":
        return None
    try:
        import qimplant_native
    except ImportError:
        if os.environ.get("QIMPLANT_BACKEND") == "native":
            raise Error("QIMPLANT_BACKEND=native but qimplant_native cannot be imported: build "
                        "it with CMake (QIMPLANT_PYTHON_BINDING) and put it on PYTHONPATH")
        return None
    from . import __version__
    if qimplant_native.__version__ != __version__:
        if os.environ.get("QIMPLANT_BACKEND") == "native":
            raise Error("qimplant_native is version %s, the package %s"
                        % (qimplant_native.__version__, __version__))
        return None
    return qimplant_native


def backend():
    """"native" when the functions run the binding, else the path of the binary they run."""
    return "native" if _native() is not None else cli_path()


def _run(args):
    args = [os.fspath(a) for a in args]
    native = _native()
    if native is not None:
        return _Completed(*native.run(args)), ["qimplant_native"] + args
    command = [cli_path()] + args
    try:
        proc = subprocess.run(command, capture_output=True, text=True)
    except OSError as e:
        raise Error("cannot run %s: %s" % (command[0], e), command=command) from None
    return proc, command


def _fail(proc, command):
    raise Error(_message(proc.stderr), proc.stderr, proc.returncode, command)


def _json(proc, command):
    try:
        return json.loads(proc.stdout)
    except ValueError:
        _fail(proc, command)


def implant(model, qparam, output=None, **options):
    """Implants qparam.json into ``model`` and writes ``output``; returns the report.

    Without ``output`` it is a dry run (nothing written). The report is the ``--report``
    document: ``changes`` (every tensor implanted / propagated / derived), ``operators``
    inserted, ``float_tensors``, ``findings`` (rule-check warnings), ``output_bytes``, ...
    """
    args = [model, qparam]
    if output is None:
        options.setdefault("dry_run", True)
    else:
        args.append(output)
    proc, command = _run(args + ["--json", "-q"] + _flags(options))
    if proc.returncode != 0:
        _fail(proc, command)
    return _json(proc, command)


def check(model, **options):
    """Runs the rule check and the float check on a quantized model.

    Returns the ``check --report`` document (``findings``, ``float_tensors``, ``target``, ...)
    with ``ok``: False when the tool would exit 1 because of an error finding or a float tensor.
    Options: ``rules``, ``allow_float``.
    """
    proc, command = _run(["check", model, "--json"] + _flags(options))
    if proc.returncode not in (0, 1):
        _fail(proc, command)
    result = _json(proc, command)
    if result.get("ok") != (proc.returncode == 0):
        _fail(proc, command)
    return result


def inspect(model, **options):
    """What a model holds (``inspect --json``); options ``tensors`` (pattern), ``op``."""
    proc, command = _run(["inspect", model, "--json"] + _flags(options))
    if proc.returncode != 0:
        _fail(proc, command)
    return _json(proc, command)


def eval(float_model, quantized_model=None, inputs=None, **options):  # noqa: A001 (the CLI's name)
    """Compares the quantized model with the float one (``eval --json``).

    ``inputs``: {input name: npy path}. Other options by name: ``implant`` (qparam.json, instead
    of ``quantized_model``), ``implant_output``, ``samples``, ``seed``, ``per_tensor``,
    ``max_error``, ``min_snr`` and, with ``implant``, the implant's options. A missed threshold
    does not raise: the result's ``thresholds`` say ``"passed": false`` and what was missed.
    """
    args = ["eval", float_model]
    if quantized_model is not None:
        args.append(quantized_model)
    for name, path in (inputs or {}).items():
        args += ["--input", "%s=%s" % (name, os.fspath(path))]
    proc, command = _run(args + ["--json"] + _flags(options))
    if proc.returncode == 1 and proc.stdout.strip():
        return _json(proc, command)  # a threshold missed: the figures are still there
    if proc.returncode != 0:
        _fail(proc, command)
    return _json(proc, command)
