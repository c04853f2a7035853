"""The house rules that keep the code navigable, checked on the source itself."""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = sorted([*(ROOT / "brainalign").rglob("*.py"), *(ROOT / "datasets").rglob("*.py")])


def _tree(path: pathlib.Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path):
    # The guide asks for modules of at most ~400 lines, split along seams; none may pass 500.
    n_lines = len(path.read_text(encoding="utf-8").splitlines())
    assert n_lines <= 500, f"{path.relative_to(ROOT)} has {n_lines} lines; split it along a seam."


def test_no_private_names_imported_across_modules():
    offenders = []
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {alias.name}")
    assert not offenders, "\n".join(offenders)


#: Capabilities a method declares (brainalign.methods.MethodInfo) that nothing may probe for.
_CAPABILITIES = (
    r"needs_trials|needs_tokens|is_distance|spearman_brown|rdm_matrix|represent|compare_represented|"
    r"best_alphas_|fit|predict|__brainalign_info__"
)
_PROBE = re.compile(rf"\b(hasattr|getattr)\([^,]+,\s*[\"']({_CAPABILITIES})[\"']")


def test_capabilities_are_declared_not_probed():
    # Only brainalign/methods.py reads a method's declaration and checks its kernels.
    offenders = [
        f"{path.relative_to(ROOT)}:{i + 1}: {line.strip()}"
        for path in SOURCES
        if path.name != "methods.py"
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines())
        if _PROBE.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_method_classes_are_not_special_cased():
    # No isinstance checks against method classes outside the contract module.
    classes = (
        r"(RidgeEncoder|BandedRidgeEncoder|AttentionReadout|RSA|TRSA|CKA|MutualKNN|ANC|BestMatch|Shape|"
        r"StochasticShape|SimilarityMethod|Encoding)"
    )
    pattern = re.compile(rf"isinstance\([^)]*\b{classes}\b")
    offenders = [
        f"{path.relative_to(ROOT)}:{i + 1}"
        for path in SOURCES
        if path.name != "methods.py"
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines())
        if pattern.search(line)
    ]
    assert not offenders, "\n".join(offenders)


#: The generic argument checks: defined once, in brainalign/utils/_checks.py (imported from brainalign.utils).
_ARGUMENT_CHECKS = {
    "check_bool",
    "check_flag",
    "check_int",
    "check_count",
    "check_text",
    "check_str",
    "check_number",
    "check_positive",
    "check_mapping",
    "check_sequence",
    "check_float_dtype",
}


def test_argument_checks_are_defined_once():
    # A second check_bool (or a private _check_bool) next to the shared one drifts apart from it.
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno} defines {node.name}"
        for path in SOURCES
        if (ROOT / "brainalign" / "utils") not in path.parents
        for node in ast.walk(_tree(path))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.lstrip("_") in _ARGUMENT_CHECKS
    ]
    assert not offenders, "Import these from brainalign.utils instead:\n" + "\n".join(offenders)
