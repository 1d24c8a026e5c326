"""Which Python environment a notebook's imports are judged against.

In order: the kernel named in the notebook's metadata (``kernelspec.name``), found with
jupyter_client's ``KernelSpecManager`` on this machine — its interpreter (``argv[0]``) is the
environment checked; else, when the notebook names a kernel this machine does not have (or
names none), the project's declared requirements. The linter's own interpreter is used only
when it *is* the kernel's interpreter, and every finding says which environment was checked.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["KernelEnv", "importable", "resolve_kernel_env"]

_PROBE = (
    "import importlib.util, json, sys\n"
    "out = {}\n"
    "for m in sys.argv[1:]:\n"
    "    try:\n"
    "        out[m] = importlib.util.find_spec(m) is not None\n"
    "    except Exception:\n"
    "        out[m] = False\n"
    "print(json.dumps(out))\n"
)


@dataclass(frozen=True, slots=True)
class KernelEnv:
    """The environment imports are checked against (``interpreter`` None: declarations only)."""

    label: str  # "kernel 'python3' (/usr/bin/python3)" — said in every finding
    interpreter: str | None
    kernel: str | None  # the kernelspec name in the notebook, if any
    found: bool  # the named kernel exists on this machine


@lru_cache(maxsize=64)
def _kernel_argv(name: str) -> list[str] | None:
    """The argv Jupyter would start kernel ``name`` with here (``None``: no such kernel, or no jupyter_client)."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        return None
    try:
        argv = KernelSpecManager().get_kernel_spec(name).argv
    except NoSuchKernel:
        return None
    except Exception:  # a broken kernel.json must not break lint
        return None
    return [str(a) for a in argv] if isinstance(argv, list) and argv else None


def _same_interpreter(path: str) -> bool:
    here = os.path.abspath(sys.executable)
    there = os.path.abspath(path)
    # same folder (one venv's bin/) and the same executable behind the links: python, python3, python3.11
    return there == here or (os.path.dirname(there) == os.path.dirname(here) and os.path.realpath(there) == os.path.realpath(here))


@lru_cache(maxsize=64)
def _resolve(kernel: str | None) -> KernelEnv:
    if not kernel:
        return KernelEnv("the project's declared requirements (the notebook names no kernel)", None, None, False)
    argv = _kernel_argv(kernel)
    if argv is None:
        return KernelEnv(f"the project's declared requirements (kernel {kernel!r} is not installed on this machine)", None, kernel, False)
    interpreter = argv[0]
    bare = {"python", f"python{sys.version_info[0]}", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
    if interpreter in bare:  # jupyter_client starts these with the Jupyter process's own interpreter
        label = f"kernel {kernel!r} ({sys.executable}, the linter's own environment: Jupyter starts {interpreter!r} with its own interpreter)"
        return KernelEnv(label, sys.executable, kernel, True)
    if not os.path.isabs(interpreter):
        interpreter = shutil.which(interpreter) or interpreter
    if "python" not in os.path.basename(interpreter).lower() and not _same_interpreter(interpreter):
        # a wrapper (conda run, a shell script): its environment cannot be probed reliably
        return KernelEnv(f"the project's declared requirements (kernel {kernel!r} starts {argv[0]!r}, not a Python interpreter)", None, kernel, True)
    own = " — the linter's own environment" if _same_interpreter(interpreter) else ""
    return KernelEnv(f"kernel {kernel!r} ({interpreter}{own})", interpreter, kernel, True)


def resolve_kernel_env(metadata: dict[str, Any]) -> KernelEnv:
    kernelspec = metadata.get("kernelspec") or {}
    name = kernelspec.get("name") if isinstance(kernelspec, dict) else None
    return _resolve(str(name) if name else None)


_PROBE_TTL_S = 60.0
_probed: dict[str, tuple[float, dict[str, bool]]] = {}


@lru_cache(maxsize=4096)
def _importable_here(module: str) -> bool:
    if module in sys.modules:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def importable(env: KernelEnv, modules: list[str]) -> dict[str, bool] | None:
    """``{module: importable}`` in ``env``'s interpreter; ``None`` when it cannot be asked."""
    if env.interpreter is None:
        return None
    if _same_interpreter(env.interpreter):
        return {m: _importable_here(m) for m in modules}
    stamp, known = _probed.get(env.interpreter, (0.0, {}))
    if time.monotonic() - stamp > _PROBE_TTL_S:  # a long-lived process (the Jupyter server) sees later installs
        known = {}
        _probed[env.interpreter] = (time.monotonic(), known)
    missing = [m for m in modules if m not in known]
    if missing:
        try:
            done = subprocess.run([env.interpreter, "-c", _PROBE, *missing], capture_output=True, text=True, timeout=30, check=False)
            known.update({str(k): bool(v) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()})
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            return None
    return {m: known.get(m, False) for m in modules}
