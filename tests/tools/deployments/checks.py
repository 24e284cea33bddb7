"""Checks of the deployment artefacts that no packaged validator makes, run by
tests/tools/validate-deployments in the validators' venv (PyYAML comes with yamllint).

    python checks.py prometheus-for-promtool PROMETHEUS_YML OUT   write a copy promtool can check
    python checks.py otel-pipelines OTEL_COLLECTOR_YML           every pipeline component is declared
    python checks.py compose-mounts COMPOSE_FILE                  every bind-mounted path exists
    python checks.py docker-context REPO DOCKERFILE               binaries and context of the image build

Each exits 0 when the check holds and 1 with the reasons on stderr.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml


def fail(reasons):
    for reason in reasons:
        print(reason, file=sys.stderr)
    sys.exit(1 if reasons else 0)


def prometheus_for_promtool(source, out):
    """Debian's promtool is built without Kubernetes service discovery, so the
    kubernetes_sd_configs blocks are left out of the copy it checks; their
    relabelling rules stay and are checked."""
    config = yaml.safe_load(Path(source).read_text())
    for job in config.get("scrape_configs", []):
        if job.pop("kubernetes_sd_configs", None) is not None:
            job.setdefault("static_configs", [])
    Path(out).write_text(yaml.safe_dump(config))


def otel_pipelines(path):
    config = yaml.safe_load(Path(path).read_text())
    reasons = []
    service = config.get("service", {})
    for extension in service.get("extensions", []):
        if extension not in (config.get("extensions") or {}):
            reasons.append(f"extension {extension} is used but not declared")
    pipelines = service.get("pipelines") or {}
    if not pipelines:
        reasons.append("no pipelines")
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            declared = config.get(kind) or {}
            for component in pipeline.get(kind, []):
                if component not in declared:
                    reasons.append(f"pipeline {name}: {kind[:-1]} {component} is not declared")
        for kind in ("receivers", "exporters"):
            if not pipeline.get(kind):
                reasons.append(f"pipeline {name} has no {kind}")
    fail(reasons)


def compose_mounts(path):
    compose = yaml.safe_load(Path(path).read_text())
    base = Path(path).parent
    reasons = []
    for name, service in (compose.get("services") or {}).items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("."):
                if not (base / source).exists():
                    reasons.append(f"service {name}: mounted path {source} does not exist")
        build = service.get("build")
        if isinstance(build, dict):
            context = base / build.get("context", ".")
            dockerfile = context / build.get("dockerfile", "Dockerfile")
            if not dockerfile.exists():
                reasons.append(f"service {name}: Dockerfile {dockerfile} does not exist")
    fail(reasons)


def docker_context(repo, dockerfile):
    """The binaries the Dockerfile builds exist, and the .dockerignore at the
    repository root (the build context) lets every workspace member in."""
    repo = Path(repo)
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"],
            cwd=repo,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    bins = {
        target["name"]
        for package in metadata["packages"]
        for target in package["targets"]
        if "bin" in target["kind"]
    }
    text = Path(dockerfile).read_text()
    reasons = []
    for name in sorted(set(re.findall(r"--bin\s+(\S+)", text))):
        if name not in bins:
            reasons.append(f"{dockerfile}: --bin {name} is not a binary of the workspace")
    for name in sorted(set(re.findall(r"target/release/(\S+)", text))):
        if name not in bins:
            reasons.append(f"{dockerfile}: target/release/{name} is not a binary of the workspace")
    ignore = (repo / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].strip("/") for line in ignore if line.startswith("!")}
    for package in metadata["packages"]:
        member = Path(package["manifest_path"]).parent.relative_to(repo)
        if member.parts and member.parts[0] not in allowed:
            reasons.append(f".dockerignore keeps workspace member {member} out of the build context")
    fail(reasons)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {
        "prometheus-for-promtool": prometheus_for_promtool,
        "otel-pipelines": otel_pipelines,
        "compose-mounts": compose_mounts,
        "docker-context": docker_context,
    }[command](*args)
