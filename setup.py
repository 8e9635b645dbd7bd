"""Compiles the console's catalogs (``.po`` to ``.mo``) whenever the package is built or installed, editable
installs included; everything else about the package is in pyproject.toml."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class build_py_with_catalogs(build_py):
    def run(self) -> None:
        # By path: at build time only setuptools and Babel are importable, not Flask or the rest of recall.
        spec = importlib.util.spec_from_file_location("catalog_files", HERE / "recall/web/console/catalog_files.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.compile_catalogs()
        super().run()


setup(cmdclass={"build_py": build_py_with_catalogs})
