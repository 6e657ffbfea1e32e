"""Every HARD rule of POLICY.md has a test that names it; R5 (no ranking) by construction."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize

import pytest

from service.policy.rules import HARD
from service.store.tables import metadata
from tests.conftest import ROOT

POLICY_MD = ROOT.parent / "shared" / "spec" / "POLICY.md"


def test_the_rule_list_is_policy_md_s_hard_rules() -> None:
    if not POLICY_MD.exists():
        pytest.skip(f"{POLICY_MD} is not beside this clone; the list in service/policy/rules.py stands")
    hard = re.findall(r"^\| (\w+) \|.*\| HARD", POLICY_MD.read_text(encoding="utf-8"), flags=re.M)
    assert set(hard) == set(HARD)


def test_every_hard_rule_has_a_test_that_names_it() -> None:
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", str(ROOT / "tests")],
        capture_output=True, text=True, cwd=ROOT, check=True,
    ).stdout  # fmt: skip
    names = [line for line in collected.splitlines() if "::" in line]
    missing = [
        rule
        for rule in HARD
        if not any(re.search(rf"(::test_{rule}_|_{rule}_|\[{rule}\]|\[[^\]]*-{rule}\])", n) for n in names)
    ]
    assert not missing, f"HARD rules without a test naming them: {missing}"


def test_R5_nothing_in_the_schema_or_the_service_ranks_students() -> None:
    """No column, and no identifier in the service or the models, that holds a rank or percentile."""
    banned = re.compile(r"rank|percentile|名次|排名", re.I)
    columns = [
        f"{t.name}.{c.name}" for t in metadata.sorted_tables for c in t.columns if banned.search(c.name)
    ]
    assert columns == []
    names = []
    for folder in ("service", "models"):
        for path in (ROOT / folder).rglob("*.py"):
            tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
            names += [
                f"{path.name}:{tok.string}"
                for tok in tokens
                if tok.type == tokenize.NAME and banned.search(tok.string)
            ]
    assert names == []
