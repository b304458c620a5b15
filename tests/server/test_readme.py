"""The README is true: its configuration reference names every setting the code reads."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_environment_variable_the_config_reads_is_in_the_readme():
    source = (ROOT / "server" / "config.py").read_text()
    read = set(re.findall(r'(?:env\.get|_int|_bool|_share)\("([A-Z_]+)"', source))
    assert read, "the config reads no variables? the pattern above is out of date"
    readme = (ROOT / "README.md").read_text()
    reference = readme.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    missing = sorted(name for name in read if f"`{name}`" not in reference)
    assert not missing, f"README's configuration reference lacks {missing}"


def test_the_readme_gives_the_two_set_up_commands_that_ci_uses():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
