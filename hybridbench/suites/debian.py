"""Installing the Debian packages that carry the offline real-speech suites, where this machine allows it."""

from __future__ import annotations

import os
import shutil
import subprocess

from hybridbench.errors import HybridbenchError


def install_command(packages: list[str]) -> str:
    """The exact command a user runs to install `packages` (with sudo unless already root)."""
    prefix = "" if _is_root() else "sudo "
    return f"{prefix}apt-get update && {prefix}apt-get install -y {' '.join(packages)}"


def can_install() -> bool:
    """True on a Debian-like system where this process is root, so apt-get can run without asking."""
    return shutil.which("apt-get") is not None and _is_root()


def has_apt() -> bool:
    return shutil.which("apt-get") is not None


def apt_install(packages: list[str]) -> None:
    """Install `packages` with apt-get; refresh the package lists once if the first attempt fails."""
    base = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(base, env=env).returncode == 0:
        return
    # A fresh container often has no package lists yet: that is the usual reason for the first failure.
    if (
        subprocess.run(["apt-get", "update"], env=env).returncode != 0
        or subprocess.run(base, env=env).returncode
    ):
        raise HybridbenchError(
            f"apt-get could not install {' '.join(packages)}", "see apt-get's output above"
        )


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
