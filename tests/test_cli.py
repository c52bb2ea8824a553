import pytest

from raivtools.cli import COMMANDS


def test_group_help_lists_every_command(raiv):
    result = raiv("--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.text


def test_version(raiv):
    result = raiv("--version")
    assert result.returncode == 0 and "raiv" in result.text


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_help_with_example(raiv, name):
    result = raiv(name, "--help")
    assert result.returncode == 0, result.stderr
    assert "Example" in result.text and f"raiv {name}" in result.text
    assert result.stderr == ""


def test_unknown_command_exits_2(raiv):
    assert raiv("no-such-command").returncode == 2
