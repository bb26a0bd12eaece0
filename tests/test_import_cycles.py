"""No import cycles inside jobq/: every module's imports point one way.

Imports inside functions and under TYPE_CHECKING count too (see tests/support/imports.py):
a cycle hidden there is still two modules that each need the other. Break one by moving
the shared type down into a leaf module, or by giving the lower module a Protocol or
callbacks for what it needs of the higher one.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.imports import cycles, graph

PACKAGE = Path(__file__).resolve().parent.parent / "jobq"


def test_jobq_has_no_import_cycle() -> None:
    edges = graph(PACKAGE)
    found = cycles(edges)
    report = [
        "cycle: "
        + " <-> ".join(group)
        + "".join(
            f"\n    {edge}" for member in group for edge in edges[member].values() if edge.target in group
        )
        for group in found
    ]
    assert not found, "\n".join(report)


def test_the_graph_sees_imports_in_functions_and_typing_blocks(tmp_path: Path) -> None:
    """The checker itself: a cycle made only of a lazy and a TYPE_CHECKING import is found."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import a\n"
    )
    (package / "sub" / "c.py").write_text("from . import b\nfrom pkg import a\n")
    edges = graph(package)
    assert cycles(edges) == [["pkg.a", "pkg.sub.b"]]
    assert set(edges["pkg.sub.c"]) == {"pkg.sub.b", "pkg.a"}
