"""polydit-policy alone builds and steps an environment: every module imported on the way belongs
to a distribution that its declared requirements pull in (the rest of the venv is hidden)."""

import json
import re
import subprocess
import sys
from importlib import metadata

from packaging.requirements import Requirement

# Runs in a fresh interpreter that can import only the standard library, what is already loaded
# at startup and the top-level modules in argv[1] (a JSON list); anything else is not found.
SCRIPT = """
import importlib.abc, importlib.machinery, json, sys, sysconfig
allowed = set(json.loads(sys.argv[1])) | set(sys.stdlib_module_names) | set(sys.modules)
stdlib = sysconfig.get_paths()["stdlib"]  # the base interpreter's, outside any site-packages

class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in allowed:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        origin = (spec and spec.origin) or ""
        if origin.startswith(stdlib) and "site-packages" not in origin:
            return None  # e.g. _sysconfigdata_*
        raise ModuleNotFoundError(f"No module named {name!r} (not declared)", name=name)

sys.meta_path.insert(0, Hide())
from polydit.policy.env import make_env
env = make_env("reach-v3")
obs, _ = env.reset(seed=1000)
env.step(obs[:4] * 0)
env.close()
print("stepped")
"""


def _name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def declared_closure(root: str) -> set[str]:
    """Normalised names of `root` and of every distribution its requirements pull in, with the
    extras a requirement asks for (environment markers evaluated on this interpreter)."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(_name(root), frozenset[str]())]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for line in metadata.requires(name) or []:
            req = Requirement(line)
            wanted = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(w) for w in wanted):
                todo.append((_name(req.name), frozenset(req.extras)))
    return {name for name, _ in seen}


def step_with_only(closure: set[str]) -> subprocess.CompletedProcess[str]:
    """Build, reset and step an environment in a fresh interpreter that sees only the modules
    of the distributions in `closure` (and the standard library; ``polydit`` itself, whose
    editable installs list no top-level modules)."""
    modules = ["polydit"]
    for module, distributions in metadata.packages_distributions().items():
        if any(_name(d) in closure for d in distributions):
            modules.append(module)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(modules)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_declared_requirements_build_and_step_an_environment() -> None:
    closure = declared_closure("polydit-policy")
    assert {"packaging", "mujoco", "gymnasium", "metaworld", "pyarrow"} <= closure
    run = step_with_only(closure)
    assert run.returncode == 0 and "stepped" in run.stdout, run.stderr[-2000:]


def test_the_check_fails_without_a_requirement() -> None:
    """The same run with `packaging` hidden fails: gymnasium's MuJoCo code imports it."""
    run = step_with_only(declared_closure("polydit-policy") - {"packaging"})
    assert run.returncode != 0 and "No module named 'packaging'" in run.stderr
