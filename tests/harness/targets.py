"""The kernel targets: one TOML file each in tests/targets/.

A target file says which distribution's kernel to test and how its tree is
made; tools/setup builds a chroot for it and records what it found (the
kernel release, the rustc, ...) in the chroot's .rustguess-ready. The keys,
with their defaults (a key not here is an error, so a typo cannot pass):
"""

import os
import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
TARGETS = TOP / "tests" / "targets"

# key: (default, meaning). Lists become one shell word each, joined by the
# separator given in SEPARATORS (a space unless said).
KEYS = {
    "title": (None, "the name the book and the results use"),
    "distro": (None, "debian or ubuntu: whose archive debootstrap and apt use"),
    "suite": (None, "the distribution's suite (resolute, trixie, sid)"),
    "bootstrap_suite": ("", "debootstrap this suite, then upgrade to suite with apt "
                            "(a release the host's debootstrap cannot make yet)"),
    "extra_suites": ([], "more suites in the chroot's sources (updates, backports)"),
    "components": (["main"], "the archive's components"),
    "kernel_meta": (None, "the metapackage whose dependency names the kernel of the day"),
    "kind": (None, "ubuntu-packages, debian-source or debug-build: how the tree is made"),
    "arch": ("", "empty for amd64 (the host's); arm64 for a cross-built target"),
    "image_packages": ([], "what the reader's VM image already has"),
    "apt_preferences": ("", "an apt preferences file for the chroot"),
    "tolerate": ([], "build-output lines readers see too (regular expressions)"),
    "primary": (False, "the reader's platform: casts, transcripts, follow-along"),
    "debug_kernel": (False, "a kernel with KUnit and bug finders: stress, kmemleak"),
    "vm_stages": ([], "a lean plan: only these stages boot (empty: all)"),
    "vm_timeout": (300, "seconds the guest may run"),
    "vm_memory": (1024, "the guest's memory in MiB"),
    "lint_script": ("", "the book's script that installs the lint tools"),
    "lint_packages": ([], "else, the packages with them"),
    "clippy_driver": (None, "clippy-driver's path in the chroot"),
    "rustfmt": (None, "rustfmt's path in the chroot"),
}
SEPARATORS = {"components": ",", "tolerate": "|"}


class TargetError(Exception):
    pass


def names():
    """Every target, the primary first, then by name."""
    found = sorted(p.stem for p in TARGETS.glob("*.toml"))
    return sorted(found, key=lambda n: not read(n)["primary"])


def wanted():
    """The targets RUSTGUESS_TARGETS names (space-separated; "none": no
    kernel at all), else all of them."""
    env = os.environ.get("RUSTGUESS_TARGETS", "").split()
    if env == ["none"]:
        return []
    if not env:
        return names()
    for n in env:
        if not (TARGETS / f"{n}.toml").is_file():
            raise TargetError(f"no target tests/targets/{n}.toml")
    return env


def primary():
    return names()[0]


def read(name):
    """The target file's keys, with the defaults filled in."""
    path = TARGETS / f"{name}.toml"
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise TargetError(f"no target tests/targets/{name}.toml") from None
    except tomllib.TOMLDecodeError as e:
        raise TargetError(f"tests/targets/{name}.toml: {e}") from None
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise TargetError(f"tests/targets/{name}.toml: unknown key {', '.join(unknown)}")
    out = {}
    for key, (default, _) in KEYS.items():
        if key not in data and default is None:
            raise TargetError(f"tests/targets/{name}.toml: {key} is missing")
        value = data.get(key, default)
        if isinstance(default, list) and not isinstance(value, list):
            raise TargetError(f"tests/targets/{name}.toml: {key} must be a list")
        out[key] = value
    return out


def shell_value(key, value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return SEPARATORS.get(key, " ").join(value)
    return str(value)


def shell(name):
    """The target as shell assignments (tools/lib.sh evaluates them):
    KEY='value', upper case, NAME included as T_NAME."""
    lines = [f"T_NAME={shlex.quote(name)}"]
    for key, value in read(name).items():
        lines.append(f"{key.upper()}={shlex.quote(shell_value(key, value))}")
    return "\n".join(lines)


def ready(name, cache):
    """What tools/setup recorded for the target (KVER, KDIR, RUSTC_VERSION,
    ...): its .rustguess-ready, a file of shell assignments."""
    path = Path(cache) / "targets" / name / ".rustguess-ready"
    if not path.is_file():
        raise TargetError(f"target {name} is not set up: run tools/setup {name}")
    found = {}
    for line in path.read_text().splitlines():
        key, eq, value = line.partition("=")
        if eq and key.isidentifier():
            words = shlex.split(value)
            found[key] = words[0] if words else ""
    return found


@dataclass
class Target:
    """A set-up target: its file's keys and what set-up recorded."""
    name: str
    keys: dict
    rec: dict = field(default_factory=dict)

    @classmethod
    def load(cls, name, cache):
        return cls(name, read(name), ready(name, cache))

    def __getattr__(self, key):
        keys = self.__dict__.get("keys", {})
        if key in keys:
            return keys[key]
        raise AttributeError(key)

    @property
    def kver(self):
        return self.rec["KVER"]

    @property
    def rustc(self):
        return self.rec["RUSTC_VERSION"]

    def kernel_version(self):
        """VERSION.PATCHLEVEL as a number: 7.0 -> 700."""
        major, minor = self.kver.split("-")[0].split("+")[0].split(".")[:2]
        return int(major) * 100 + int(minor)


if __name__ == "__main__":
    # tools/lib.sh: python3 tests/harness/targets.py NAME (shell assignments)
    # or --list (the wanted targets, the primary first) or --primary.
    try:
        if sys.argv[1:] == ["--list"]:
            print("\n".join(wanted()))
        elif sys.argv[1:] == ["--primary"]:
            print(primary())
        elif len(sys.argv) == 2:
            print(shell(sys.argv[1]))
        else:
            sys.exit("usage: targets.py NAME | --list | --primary")
    except TargetError as e:
        sys.exit(f"error: {e}")
