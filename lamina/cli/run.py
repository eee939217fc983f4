"""``lamina run script.py [args]``: runs an unchanged Keras script with ``keras`` resolved to lamina.

An import hook (first on ``sys.meta_path``) answers ``import keras``, ``import keras.layers``,
``from keras import ...`` with namespaces over lamina's modules of the same names. A Keras name lamina lacks raises ``MissingKerasName`` (an
``AttributeError``, so ``hasattr`` still works) or, in ``from keras.x import Name``, an ``ImportError``,
both saying it is a Keras name lamina does not provide, never a bare error about a module.
"""

import difflib
import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys
import types

import torch

import lamina


class MissingKerasName(AttributeError):
    """A Keras name (module or attribute) that lamina does not provide."""


def _missing(name, known=()):
    close = difflib.get_close_matches(name.rpartition(".")[2], [k for k in known if not k.startswith("_")], n=3)
    hint = f" Close lamina names: {', '.join(close)}." if close else ""
    return (f"`{name}` is a Keras name that lamina does not provide (`lamina run` resolves `keras` to lamina "
            f"{lamina.__version__}).{hint}")


class KerasNamespace(types.ModuleType):
    """``keras`` or ``keras.<module>`` for a script: the attributes of lamina's module of the same name."""

    def __init__(self, name, source):
        super().__init__(name, getattr(source, "__doc__", None))
        self.__dict__["_source"] = source
        self.__path__ = []  # a package: ``import keras.x`` asks the finder

    def __getattr__(self, attribute):
        source = self.__dict__["_source"]
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        full_name = f"{self.__name__}.{attribute}"
        if isinstance(source, types.ModuleType) and isinstance(getattr(source, attribute, None), types.ModuleType):
            return importlib.import_module(full_name)
        try:
            return getattr(source, attribute)
        except (KeyError, AttributeError):
            raise MissingKerasName(_missing(full_name, dir(self))) from None

    def __dir__(self):
        source = self.__dict__["_source"]
        return sorted(dir(source))


class _NamespaceLoader(importlib.abc.Loader):
    def __init__(self, source):
        self.source = source

    def create_module(self, spec):
        return KerasNamespace(spec.name, self.source)

    def exec_module(self, module):
        pass


class KerasFinder(importlib.abc.MetaPathFinder):
    """Resolves ``keras`` and ``keras.*`` imports to lamina."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras" and not fullname.startswith("keras."):
            return None
        if fullname == "keras.src" or fullname.startswith("keras.src."):
            raise ImportError(f"`{fullname}` is Keras's private implementation, which lamina does not provide; "
                              "use the public `keras.*` names.", name=fullname)
        else:
            source = self._lamina_module(fullname)
        return importlib.util.spec_from_loader(fullname, _NamespaceLoader(source), is_package=True)

    @staticmethod
    def _lamina_module(fullname):
        parent, _, attribute = ("lamina" + fullname[len("keras"):]).rpartition(".")
        if not parent:
            return lamina
        module = getattr(importlib.import_module(parent), attribute, None)
        if not isinstance(module, types.ModuleType):
            known = dir(importlib.import_module(parent))
            raise ImportError(_missing(fullname, known) if module is None else
                              f"`{fullname}` is not a module: import it with `from {fullname.rpartition('.')[0]} "
                              f"import {attribute}`.", name=fullname)
        return module


def install():
    """Puts the finder first on ``sys.meta_path`` (idempotent); returns it."""
    for finder in sys.meta_path:
        if isinstance(finder, KerasFinder):
            return finder
    for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
        del sys.modules[name]  # a real Keras imported earlier must not answer the script's imports
    finder = KerasFinder()
    sys.meta_path.insert(0, finder)
    return finder


def run_script(script, args=()):
    """Runs ``script`` as ``__main__`` with ``sys.argv = [script, *args]`` and ``keras`` resolved to lamina."""
    if not os.path.isfile(script):
        raise FileNotFoundError(f"lamina run: no such script: {script}")
    print(f"lamina run: `keras` resolves to lamina {lamina.__version__} (PyTorch {torch.__version__}) for {script}",
          file=sys.stderr, flush=True)
    install()
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path


def add_parser(commands):
    """The ``run`` subcommand of ``lamina``."""
    parser = commands.add_parser("run", help="run a Keras script with `keras` resolved to lamina",
                                 description="Runs SCRIPT unchanged, with `import keras` (and `from keras import "
                                             "...`) resolved to lamina.")
    parser.add_argument("script", help="the Python script")
    parser.add_argument("args", nargs="...", help="arguments passed to the script (its sys.argv[1:])")
    parser.set_defaults(handler=lambda arguments: run_script(arguments.script, arguments.args) or 0)
    return parser
