"""Jinja context for sqlfluff's jinja templater (`library_path` in dbt_project/.sqlfluff).

The linter renders the models without dbt, so what dbt would provide is stubbed here to render
the SQL dbt renders: var() reads the project's vars, dbt.<macro>() is in dbt.py. Neither dbt nor
critmin imports this package.
"""

from pathlib import Path as _Path

import yaml as _yaml

_VARS = _yaml.safe_load((_Path(__file__).parents[1] / "dbt_project.yml").read_text())["vars"]


def var(name, default=None):
    """dbt's var(): a project var, else the default; an unknown var without default fails, as in dbt."""
    if name in _VARS:
        return _VARS[name]
    if default is None:
        raise KeyError(f"var({name!r}) is not in dbt_project.yml vars and has no default")
    return default
