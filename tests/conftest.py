pytest_plugins = ["tests.emulators.pytest_plugin"]
