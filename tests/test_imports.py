"""Import hygiene: light entry points never load torch, transformers, textual, matplotlib or
dask."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "textual", "matplotlib", "dask", "distributed")


@pytest.mark.parametrize("module", ["eudoxus.agent.cli", "eudoxus.memory", "eudoxus.agent.events",
                                    "eudoxus.tools.expr", "eudoxus.agent.campaign",
                                    "eudoxus.agent.executor", "eudoxus.agent.report",
                                    "eudoxus.agent.soak"])
def test_module_does_not_import_heavy_packages(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"{module} imported {done.stdout.strip()}"


def test_only_memory_imports_duckdb() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    offenders = [
        str(path.relative_to(root))
        for folder in ("agent", "tools", "models")
        for path in (root / folder).rglob("*.py")
        if "import duckdb" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_calculus_appears_only_in_benchmark_scoring() -> None:
    """The scientist is never told calculus: a CAS integrates or differentiates only to score
    benchmarks, and in the recorded audit flag of `tools/verify.audit`, which decides nothing."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    allowed = {"agent/scoring.py", "tools/verify.py"}
    pattern = re.compile(
        r"\b(?:sp|sympy)\.(?:integrate|diff|Derivative|Integral)\(|(?<!np)\.diff\("
    )
    offenders = [
        str(path.relative_to(root))
        for folder in ("agent", "tools", "memory", "models")
        for path in (root / folder).rglob("*.py")
        if str(path.relative_to(root)) not in allowed
        and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_verify_uses_calculus_only_inside_the_audit() -> None:
    import re
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / "tools" / "verify.py").read_text("utf-8")
    head, _, audit_and_rest = source.partition("\ndef audit(")
    audit_body, _, rest = audit_and_rest.partition("\ndef ")
    pattern = re.compile(r"\b(?:sp|sympy)\.(?:integrate|diff|Derivative|Integral)\(")
    assert pattern.search(audit_body)
    assert not pattern.search(head) and not pattern.search(rest)
