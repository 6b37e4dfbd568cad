"""Every file the Operate feature adds to a render, by repo-relative path."""
from __future__ import annotations

from typing import Callable

from ..manifest import Manifest

MONITORING_DIR = ".ci-gen/monitoring"

Header = Callable[[str, str, str], str]  # render.with_header(body, comment, manifest_file)


def monitoring_files(manifest: Manifest, k8s_dir: str | None, header: Header) -> dict[str, bytes]:
    """sli.json whenever there is a deploy (the canary analysis reads it); the rest with `monitoring:`
    or `deploy.autoscale`. `k8s_dir` is None when the app brings its own manifests."""
    from . import sli

    if manifest.deploy is None:
        return {}
    files = {sli.SLI_FILE: sli.sli_json(manifest)}
    dashboard = None
    if manifest.monitoring is not None:
        from .dashboard import dashboard_json
        from .promrules import rules_yaml
        from .scrape import prometheus_yaml

        dashboard = dashboard_json(manifest)
        files[f"{MONITORING_DIR}/rules.yml"] = header(rules_yaml(manifest), "#", manifest.file)
        files[f"{MONITORING_DIR}/prometheus.yml"] = header(prometheus_yaml(manifest), "#", manifest.file)
        files[f"{MONITORING_DIR}/dashboard.json"] = dashboard
        if manifest.monitoring.datadog:
            from .datadog import FILE, monitors_json

            files[f"{MONITORING_DIR}/{FILE}"] = monitors_json(manifest)
    if manifest.deploy.autoscale is not None:
        from .k8s import prometheus_adapter_rules
        from .yamlemit import dump

        files[f"{MONITORING_DIR}/prometheus-adapter.yaml"] = header(dump(prometheus_adapter_rules(manifest)), "#",
                                                                     manifest.file)
    if k8s_dir is not None:
        from .k8s import objects
        from .yamlemit import dump

        for env in manifest.deploy.environments:
            for name, obj in objects(manifest, env, dashboard).items():
                files[f"{k8s_dir}/{env.name}/{name}"] = header(dump(obj), "#", manifest.file)
    return {path: text.encode("utf-8") for path, text in files.items()}
