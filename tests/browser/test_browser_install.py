"""`python3 dev.py test` installs Debian's Chromium and the CJK font only when they are missing (the font for
the labelled evidence set too, whatever tests run).

Part of the browser suite (tests/browser, Playwright driving Chromium), which is cross-cutting rather than
one module's tests and so keeps its own directory; its tests run after every other test (see conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

import dev


class FakeMachine:
    """What dev.py sees of the machine: installed packages, apt-get's answers, the commands run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        self.chromium = tmp_path / "chromium"
        self.packages: set[str] = set()
        self.root = True
        self.sudo = True
        self.failing_installs = 0
        self.commands: list[list[str]] = []
        monkeypatch.setattr(dev, "BROWSER_EXECUTABLE", str(self.chromium))
        monkeypatch.setattr(dev.subprocess, "run", self.run)
        monkeypatch.setattr(dev.shutil, "which", self.which)
        monkeypatch.setattr(dev.os, "geteuid", lambda: 0 if self.root else 1000)

    def which(self, name: str) -> str | None:
        present = {"dpkg": True, "apt-get": True, "sudo": self.sudo, "chromium": False}
        return f"/usr/bin/{name}" if present[name] else None

    def run(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        if command[:2] == ["dpkg", "-s"]:
            return subprocess.CompletedProcess(command, 0 if command[2] in self.packages else 1)
        self.commands.append(command)
        if "install" in command and self.failing_installs:
            self.failing_installs -= 1
            return subprocess.CompletedProcess(command, 100)
        return subprocess.CompletedProcess(command, 0)


@pytest.fixture
def machine(monkeypatch, tmp_path):
    return FakeMachine(monkeypatch, tmp_path)


APT = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
INSTALL = [*APT, "install", "-y", "--no-install-recommends"]


def test_nothing_is_installed_when_both_are_there(machine):
    machine.chromium.touch()
    machine.packages.add("fonts-wqy-microhei")

    dev.ensure_browser()

    assert machine.commands == []


def test_chromium_and_the_font_in_one_install(machine, capsys):
    dev.ensure_browser()

    assert machine.commands == [[*INSTALL, "chromium", "fonts-wqy-microhei"]]
    assert "installing chromium and fonts-wqy-microhei" in capsys.readouterr().out


def test_only_the_font_when_chromium_is_there(machine):
    machine.chromium.touch()

    dev.ensure_browser()

    assert machine.commands == [[*INSTALL, "fonts-wqy-microhei"]]


def test_update_only_after_a_failed_install(machine):
    machine.chromium.touch()
    machine.failing_installs = 1

    dev.ensure_browser()

    assert machine.commands == [[*INSTALL, "fonts-wqy-microhei"], [*APT, "update"], [*INSTALL, "fonts-wqy-microhei"]]


def test_through_sudo_when_not_root(machine):
    machine.chromium.touch()
    machine.root = False

    dev.ensure_browser()

    assert machine.commands == [["sudo", *INSTALL, "fonts-wqy-microhei"]]


def test_stops_when_the_install_fails_after_an_update(machine):
    machine.root, machine.sudo = False, False
    machine.failing_installs = 2

    with pytest.raises(SystemExit, match="Could not install chromium fonts-wqy-microhei"):
        dev.ensure_browser()


def test_the_font_alone_for_the_labelled_evidence_set(machine, capsys):
    dev.ensure_cjk_font()

    assert machine.commands == [[*INSTALL, "fonts-wqy-microhei"]]
    assert "the labelled evidence set: installing fonts-wqy-microhei" in capsys.readouterr().out


def test_no_font_install_when_it_is_there(machine):
    machine.packages.add("fonts-wqy-microhei")

    dev.ensure_cjk_font()

    assert machine.commands == []


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        ([], True),
        (["tests"], True),
        (["tests/browser"], True),
        (["tests/browser/test_browser_smoke.py::test_desktop_width_and_sideways_scroll"], True),
        (["tests/agency", "tests/cases"], False),
        (["tests/contract"], False),
    ],
)
def test_the_browser_is_needed_only_when_browser_tests_run(paths, expected):
    assert dev.runs_browser_tests(paths) is expected
