"""The lock files: each backend's installs alone, and no pin is below a floor that closes a hole."""

import re

import pytest
from conftest import ROOT
from packaging.requirements import Requirement
from packaging.version import Version

LOCKS = {  # lock file: (its backend's library, the libraries it must not hold)
    "requirements.lock": ("tensorflow", ()),
    "requirements-jax.lock": ("jax", ("tensorflow", "torch")),
    "requirements-torch.lock": ("torch", ("tensorflow", "jax")),
}


def floors():
    """{package: (lowest version allowed, the file that says so)} from every requirements file."""
    found = {}
    for path in sorted(ROOT.glob("requirements*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#")[0].strip()
            if not line or line.startswith("-"):
                continue
            requirement = Requirement(line)
            for spec in requirement.specifier:
                if spec.operator in (">=", "=="):
                    found[requirement.name.lower()] = (Version(spec.version), path.name)
    return found


def pins(text):
    """{package: version} of a lock file's lines `name==version`."""
    pinned = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", text, flags=re.MULTILINE)
    return {name.lower(): Version(version) for name, version in pinned}


def below_floors(text):
    """The pins of a lock's text that are below a requirements file's floor."""
    pinned = pins(text)
    return {
        name: (str(pinned[name]), str(floor), source)
        for name, (floor, source) in floors().items()
        if name in pinned and pinned[name] < floor
    }


@pytest.mark.parametrize("lock", LOCKS)
def test_the_lock_pins_nothing_below_a_floor(lock):
    low = below_floors((ROOT / lock).read_text(encoding="utf-8"))
    assert not low, f"{lock} pins below the floors of the requirements files: {low}"


@pytest.mark.parametrize("lock", LOCKS)
def test_each_backend_lock_holds_its_backend_and_no_other(lock):
    backend, others = LOCKS[lock]
    pinned = pins((ROOT / lock).read_text(encoding="utf-8"))
    assert backend in pinned
    assert "keras" in pinned and pinned["keras"] >= Version("3.15.1")  # the hole-closing floor
    assert not [name for name in others if name in pinned], f"{lock} holds another backend"


def test_the_floor_check_notices_a_pin_below_a_floor():
    # The negative control: keras 3.15.0 is below the 3.15.1 floor that closes a known hole.
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    old = re.sub(r"^keras==\S+", "keras==3.15.0", text, flags=re.MULTILINE)
    assert below_floors(old) == {"keras": ("3.15.0", "3.15.1", "requirements-base.txt")}


def test_a_files_tests_share_one_worker(request):
    """`make test` (pytest-xdist, --dist loadgroup) keeps a file's tests in one worker, so a
    module fixture (a trained model) is made once. pytest 9.2 broke that silently
    (pytest-dev/pytest-xdist#1386): the tests still passed, each worker training its own."""
    if not request.config.getoption("loadgroup", False):  # set in xdist's workers
        pytest.skip("a run without `-n auto --dist loadgroup` has no workers to group tests into")
    assert request.node.nodeid.endswith("@test_requirements"), request.node.nodeid


def test_the_spread_tests_come_after_the_files(request):
    # The order the workers take the groups in: each file's group first, the spread tests
    # (short, one group each) last, to fill in while the other worker ends a long file.
    from conftest import SPREAD

    spread = [item.path.name in SPREAD for item in request.session.items]
    if not any(spread):
        pytest.skip(f"this run collected none of {', '.join(SPREAD)}")
    first = spread.index(True)
    assert all(spread[first:]), "a file's test after the spread tests"
