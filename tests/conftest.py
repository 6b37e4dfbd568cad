import os
import tempfile

pytest_plugins = ["tests.network_guard", "tests.emulators.pytest_plugin"]


def pytest_configure(config: object) -> None:
    # ci-gen remembers what it verified in the user's cache directory (ci_gen/verified.py): the
    # tests, and the ci-gen processes they start, get a fresh one rather than the developer's.
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="ci-gen-test-cache-")
