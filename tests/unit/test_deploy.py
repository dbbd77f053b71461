"""The deployment files stay true to the code: settings, commands, probes, search attributes."""

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from api.app import endpoints
from workers.cli import parser
from workers.settings import DEPLOYMENT_REQUIRED, Settings
from workflows.search_attributes import ALL, CLI_TYPES

DEPLOY = Path(__file__).parents[2] / "deploy"
# The oldest Kubernetes minor version the manifests are checked against.
KUBERNETES_VERSION = "1.31.0"
SETTING_NAMES = {f"PARTNERFLOW_{name.upper()}" for name in Settings.model_fields}


def _documents() -> list[dict[str, Any]]:
    docs = [yaml.safe_load((DEPLOY / "compose.yaml").read_text())]
    docs += list(yaml.safe_load_all((DEPLOY / "kubernetes" / "partnerflow.yaml").read_text()))
    return docs


def _walk(node: Any) -> list[Any]:
    found = [node]
    if isinstance(node, dict):
        for value in node.values():
            found += _walk(value)
    elif isinstance(node, list):
        for value in node:
            found += _walk(value)
    return found


def test_every_partnerflow_variable_is_a_setting() -> None:
    named = set(re.findall(r"^(PARTNERFLOW_\w+)=", (DEPLOY / "env.example").read_text(), re.M))
    for doc in _documents():
        for node in _walk(doc):
            if isinstance(node, dict):
                named |= {k for k in node if isinstance(k, str) and k.startswith("PARTNERFLOW_")}
                if str(node.get("name", "")).startswith("PARTNERFLOW_"):
                    named.add(node["name"])
    assert named
    assert named <= SETTING_NAMES, named - SETTING_NAMES


def test_every_command_is_a_partnerflow_command() -> None:
    commands = [
        node
        for doc in _documents()
        for node in _walk(doc)
        if isinstance(node, list) and node and node[0] == "partnerflow"
    ]
    assert {c[1] for c in commands} >= {"worker", "api", "migrate"}
    for command in commands:
        parser().parse_args(command[1:])


def test_probes_use_public_health_endpoints() -> None:
    public = {ep.path for ep in endpoints() if ep.public and ep.method == "GET"}
    paths = {
        node["path"]
        for doc in _documents()
        for node in _walk(doc)
        if isinstance(node, dict) and "path" in node and "port" in node
    }
    assert paths == {"/healthz", "/readyz"}
    assert paths <= public


def test_search_attribute_registration_matches_the_code() -> None:
    text = (DEPLOY / "README.md").read_text()
    documented = dict(re.findall(r"--name (\w+) --type (\w+)", text))
    assert documented == {key.name: CLI_TYPES[key.indexed_value_type.name] for key in ALL}


def _env_example() -> dict[str, str]:
    return dict(re.findall(r"^(\w+)=(.*)$", (DEPLOY / "env.example").read_text(), re.M))


def _interpolated(text: str) -> str:
    # As `docker compose` does with the variables unset: ${X:-default} -> default, ${X:?err}
    # fails, so stand in a value; $$ is a literal dollar.
    text = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)
    text = re.sub(r"\$\{\w+:\?[^}]*\}", "set-in-dot-env", text)
    return text.replace("$$", "$")


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text())
    compose = yaml.safe_load(_interpolated((DEPLOY / "compose.yaml").read_text()))
    jsonschema.Draft7Validator(schema).validate(compose)
    services = compose["services"]
    assert {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-namespace",
        "temporal-ui",
    } <= set(services)
    assert {"migrate", "worker", "api"} <= set(services)
    # The server starts only on a schema the admin-tools job has set up, for both databases.
    assert services["temporal"]["depends_on"]["temporal-schema"] == {
        "condition": "service_completed_successfully"
    }
    setup = services["temporal-schema"]["command"][0]
    for database in ("temporal", "temporal_visibility"):
        assert f"--db {database} update-schema" in setup


def test_compose_file_fails_on_a_broken_service() -> None:
    schema = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text())
    compose = yaml.safe_load(_interpolated((DEPLOY / "compose.yaml").read_text()))
    compose["services"]["worker"]["deploy"]["replicass"] = 2
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(compose)


def _kubernetes() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((DEPLOY / "kubernetes" / "partnerflow.yaml").read_text()))


def test_kubernetes_manifests_validate_against_the_api_schemas() -> None:
    kinds = []
    for manifest in _kubernetes():
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        kinds.append((manifest["kind"], manifest["metadata"]["name"]))
    assert ("PodDisruptionBudget", "partnerflow-worker") in kinds
    assert ("HorizontalPodAutoscaler", "partnerflow-worker") in kinds
    assert {("Job", "partnerflow-migrate"), ("Deployment", "partnerflow-api")} <= set(kinds)
    broken = _kubernetes()[2]
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_deployment_container_has_probes_and_resources() -> None:
    for manifest in _kubernetes():
        if manifest["kind"] != "Deployment":
            continue
        for container in manifest["spec"]["template"]["spec"]["containers"]:
            assert "livenessProbe" in container, manifest["metadata"]["name"]
            assert container["resources"]["requests"], manifest["metadata"]["name"]


def test_every_required_setting_is_passed() -> None:
    passed = set(_env_example())
    required = {f"PARTNERFLOW_{name.upper()}" for name in DEPLOYMENT_REQUIRED}
    assert required <= SETTING_NAMES
    assert required <= passed, required - passed
    # The Kubernetes Secret is made from env.example's keys: every key a manifest reads is one.
    keys = {
        node["secretKeyRef"]["key"]
        for node in _walk(_kubernetes())
        if isinstance(node, dict) and "secretKeyRef" in node
    }
    assert keys <= passed


def test_worker_processes_match_the_metrics_ports() -> None:
    [worker] = [m for m in _kubernetes() if m["metadata"]["name"] == "partnerflow-worker"][:1]
    [container] = worker["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    processes = int(env["PARTNERFLOW_WORKER_PROCESSES"])
    first = int(env["PARTNERFLOW_WORKER_METRICS_ADDRESS"].rsplit(":", 1)[1])
    assert [p["containerPort"] for p in container["ports"]] == [first + i for i in range(processes)]


def test_deploy_files_register_every_search_attribute() -> None:
    wanted = {key.name: CLI_TYPES[key.indexed_value_type.name] for key in ALL}
    for path in (DEPLOY / "compose.yaml", DEPLOY / "kubernetes" / "partnerflow.yaml"):
        assert dict(re.findall(r"\b(Pf\w+)=(\w+)", path.read_text())) == wanted, path


def test_temporal_versions_agree_across_the_deploy_files() -> None:
    images = set(re.findall(r"temporalio/([\w-]+):([\w.]+)", (DEPLOY / "compose.yaml").read_text()))
    images |= set(
        re.findall(
            r"temporalio/([\w-]+):([\w.]+)",
            (DEPLOY / "kubernetes" / "partnerflow.yaml").read_text(),
        )
    )
    values = yaml.safe_load((DEPLOY / "kubernetes" / "temporal-values.yaml").read_text())
    images |= {
        (values[part]["image"]["repository"].split("/")[1], str(values[part]["image"]["tag"]))
        for part in ("server", "admintools", "web")
    }
    assert images == {("server", "1.31.2"), ("admin-tools", "1.31.2"), ("ui", "2.52.0")}
    readme = (DEPLOY / "README.md").read_text()
    for name, tag in images:
        assert f"temporalio/{name}:{tag}" in readme


def test_the_image_holds_every_package() -> None:
    project = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \1$", (DEPLOY / "Containerfile").read_text(), re.M))
    assert copied == packages
