"""The deployment files stay true to the code: settings, commands, probes, search attributes."""

import re
from pathlib import Path
from typing import Any

import yaml

from api.app import endpoints
from workers.cli import parser
from workers.settings import Settings
from workflows.search_attributes import ALL, CLI_TYPES

DEPLOY = Path(__file__).parents[2] / "deploy"
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
