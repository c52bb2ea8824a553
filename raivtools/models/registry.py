"""The architecture registry: ``--arch NAME`` -> model class and its config dataclass."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from raivtools.io.errors import InputError

_REGISTRY: dict[str, type] = {}
_NOT_ARCH_MODULES = {"base", "layers", "registry"}
_discovered = False


def register(name: str):
    """Class decorator: makes a :class:`~raivtools.models.base.VisionLanguageModel` subclass ``--arch name``.

    Example:
        >>> @register("my-arch")
        ... class MyModel(VisionLanguageModel):
        ...     config_class = MyConfig
    """

    def wrap(cls: type) -> type:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"architecture {name!r} is registered twice ({_REGISTRY[name].__name__}, {cls.__name__})")
        cls.arch = name
        _REGISTRY[name] = cls
        return cls

    return wrap


def _discover() -> None:
    """Imports every architecture module of this package once, so each registers itself."""
    global _discovered
    if _discovered:
        return
    import raivtools.models as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name not in _NOT_ARCH_MODULES and not info.name.startswith("_"):
            importlib.import_module(f"raivtools.models.{info.name}")
    _discovered = True


def arch_names() -> list[str]:
    """Every registered architecture name, sorted."""
    _discover()
    return sorted(_REGISTRY)


def model_class_for(arch: str) -> type:
    """The model class of ``arch``.

    Raises:
        InputError: no such architecture (names the ones there are).
    """
    _discover()
    try:
        return _REGISTRY[arch]
    except KeyError:
        raise InputError(f"unknown --arch {arch!r}; choose one of: {', '.join(sorted(_REGISTRY))}") from None


def config_class_for(arch: str) -> type:
    """The config dataclass of ``arch``."""
    return model_class_for(arch).config_class


def model_config(arch: str, **fields: Any):
    """A config for ``arch``: its defaults with ``fields`` replaced (unknown names raise ``InputError``)."""
    config_class = config_class_for(arch)
    return config_class.from_dict(fields)


def build_model(arch: str, config=None, **fields: Any):
    """A freshly initialised model of ``arch`` from ``config`` (or from the defaults with ``fields`` replaced)."""
    model_class = model_class_for(arch)
    if config is None:
        config = model_config(arch, **fields)
    elif isinstance(config, dict):
        config = model_class.config_class.from_dict(config)
    return model_class(config)
