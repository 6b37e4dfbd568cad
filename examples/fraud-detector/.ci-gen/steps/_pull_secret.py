"""The image pull secret of one environment, for `rollout`: a kubernetes.io/dockerconfigjson
Secret built from CI_GEN_REGISTRY_USER / CI_GEN_REGISTRY_PASSWORD, printed as JSON for
`kubectl apply -f -` (the password reaches kubectl on stdin, never in argv or a log).

Standard library only. Command line: _pull_secret.py NAME IMAGE_NAME
Exit 0: the Secret on stdout; 2: a missing variable or argument.
"""
from __future__ import annotations

import base64
import json
import os
import sys

DOCKER_HUB = "https://index.docker.io/v1/"


def registry_host(image_name: str) -> str:
    """The registry of an image name, as docker and the kubelet read it."""
    first, _, rest = image_name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def secret(name: str, image_name: str, user: str, password: str) -> dict[str, object]:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    config = {"auths": {registry_host(image_name): {"username": user, "password": password, "auth": auth}}}
    encoded = base64.b64encode(json.dumps(config, sort_keys=True).encode()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "ci-gen"}},
            "data": {".dockerconfigjson": encoded}}


def main(argv: list[str]) -> int:
    user, password = os.environ.get("CI_GEN_REGISTRY_USER", ""), os.environ.get("CI_GEN_REGISTRY_PASSWORD", "")
    if len(argv) != 2 or not user or not password:
        print("ci-gen rollout: error: a pull secret needs CI_GEN_REGISTRY_USER and CI_GEN_REGISTRY_PASSWORD "
              "(the environment's registry credential)", file=sys.stderr)
        return 2
    json.dump(secret(argv[0], argv[1], user, password), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
