"""nox sessions: lint, typecheck, tests, examples, benchmarks, docs.

``nox -s tests`` runs the suite the README's test command runs; ``nox`` runs them all.
"""

from __future__ import annotations

import glob

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "examples", "docs"]
nox.options.reuse_existing_virtualenvs = True
DEV = ".[dev]"
PATHS = ["src", "tests", "benchmarks", "examples", "noxfile.py"]


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", *PATHS)
    session.run("ruff", "format", "--check", *PATHS)


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", DEV)
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", DEV)
    session.run("pytest", *session.posargs)


@nox.session
def postgres_app_role(session: nox.Session) -> None:
    """The PostgreSQL tests with every store opened as a least-privilege application role
    (needs ``ASOLORA_TEST_POSTGRES_DSN`` naming a superuser, who migrates and grants)."""
    session.install("-e", DEV)
    session.run("pytest", "-m", "postgres", env={"ASOLORA_TEST_POSTGRES_AS_APP": "1"})


@nox.session
def examples(session: nox.Session) -> None:
    session.install("-e", DEV)
    for path in sorted(glob.glob("examples/*.py")):
        session.run("python", path, silent=True)
    session.run("python", "-m", "asolora_core", "demo", "--db", ":memory:", silent=True)


@nox.session
def benchmarks(session: nox.Session) -> None:
    session.install("-e", DEV)
    session.run("python", "benchmarks/run.py", *(session.posargs or ["--quick"]))


@nox.session
def docs(session: nox.Session) -> None:
    """Every ```python snippet in README.md and docs/ runs (tests/test_docs.py), the generated
    parts are up to date, and the site builds with no warning (mkdocs --strict)."""
    session.install("-e", DEV)
    session.run("pytest", "tests/test_docs.py", "tests/test_docgen.py", "-q")
    session.run("mkdocs", "build", "--strict")
