"""What every task module shares: the task decorator that turns B2envError into one clean
message and an exit code, logging set-up, and configuration loading with task arguments."""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

from invoke import task as invoke_task
from invoke.exceptions import Exit

from b2env.config import Config, load_config
from b2env.errors import B2envError

F = TypeVar("F", bound=Callable[..., Any])


def debug_enabled() -> bool:
    return os.environ.get("B2ENV_DEBUG", "") not in ("", "0")


def setup_logging() -> None:
    level = logging.DEBUG if debug_enabled() else logging.INFO
    root = logging.getLogger("b2env")
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("b2env: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)


def task(*args: Any, **kwargs: Any) -> Any:
    """``invoke.task`` whose body reports B2envError once, without a traceback."""

    def decorate(body: F) -> Any:
        @functools.wraps(body)
        def guarded(*a: Any, **kw: Any) -> Any:
            setup_logging()
            try:
                return body(*a, **kw)
            except B2envError as exc:
                if debug_enabled():
                    raise
                print(str(exc), file=sys.stderr)
                raise Exit(code=exc.exit_code) from None
            except BrokenPipeError:
                sys.stderr.close()
                raise Exit(code=0) from None
            except KeyboardInterrupt:
                print("b2env: interrupted", file=sys.stderr)
                raise Exit(code=130) from None

        return invoke_task(guarded, **kwargs)

    if len(args) == 1 and callable(args[0]) and not kwargs:
        return decorate(args[0])
    return decorate


def config(**overrides: Any) -> Config:
    """Load the layered configuration, with task arguments (None = not given) on top."""
    workdir = overrides.pop("workdir", None)
    return load_config(workdir, overrides={k: v for k, v in overrides.items() if v is not None})


def lazy_module(name: str) -> ModuleType:
    """``name`` imported on first attribute access, so ``inv shell`` does not pay for the
    imports of every other task (cryptography, uproot, the docker SDK) before it starts."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, name
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
