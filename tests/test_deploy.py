"""The cluster files in deploy/: Ray's cluster launcher YAML and the KubeRay manifests, checked without a cluster.

- deploy/ray/cluster.yaml is validated by Ray's own schema for it (the one `ray up` applies,
  ray/autoscaler/ray-schema.json, after Ray fills its defaults for the local provider).
- The KubeRay manifests are checked against the fields of KubeRay's v1 RayCluster and RayJob
  resources that they use (a schema written here: no Kubernetes runs on this machine), with
  rayStartParams values as strings, as the CRD requires.
- Every `ray start` option they pass is one that this Ray's `ray start` knows, and every
  digitlab command they run parses with digitlab's own command line.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from digitlab.cli.parser import build_parser

pytest.importorskip("ray", reason="needs the Ray extra: pip install 'digitlab[ray]'")
import jsonschema  # noqa: E402 - Ray brings it
import yaml  # noqa: E402 - Ray brings it

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
KUBERAY = sorted((DEPLOY / "kuberay").glob("*.yaml"))

_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_CONTAINER = {
    "type": "object", "required": ["name", "image"],
    "properties": {"name": {"type": "string"}, "image": {"type": "string"},
                   "resources": {"type": "object", "properties": {"requests": _STRINGS, "limits": _STRINGS}},
                   "ports": {"type": "array", "items": {"type": "object", "required": ["containerPort"]}},
                   "volumeMounts": {"type": "array", "items": {"type": "object",
                                                               "required": ["name", "mountPath"]}}},
}
_POD_TEMPLATE = {"type": "object", "required": ["spec"], "properties": {"spec": {
    "type": "object", "required": ["containers"],
    "properties": {"containers": {"type": "array", "minItems": 1, "items": _CONTAINER},
                   "volumes": {"type": "array", "items": {"type": "object", "required": ["name"]}}}}}}
_CLUSTER_SPEC = {
    "type": "object", "required": ["headGroupSpec"], "additionalProperties": False,
    "properties": {
        "rayVersion": {"type": "string"}, "enableInTreeAutoscaling": {"type": "boolean"},
        "headGroupSpec": {"type": "object", "required": ["template"], "additionalProperties": False,
                          "properties": {"rayStartParams": _STRINGS, "template": _POD_TEMPLATE}},
        "workerGroupSpecs": {"type": "array", "items": {
            "type": "object", "required": ["groupName", "template"], "additionalProperties": False,
            "properties": {"groupName": {"type": "string"}, "replicas": {"type": "integer", "minimum": 0},
                           "minReplicas": {"type": "integer", "minimum": 0},
                           "maxReplicas": {"type": "integer", "minimum": 0},
                           "rayStartParams": _STRINGS, "template": _POD_TEMPLATE}}},
    },
}
SCHEMAS = {
    "RayCluster": {"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
                   "properties": {"apiVersion": {"const": "ray.io/v1"}, "spec": _CLUSTER_SPEC}},
    "RayJob": {"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
               "properties": {"apiVersion": {"const": "ray.io/v1"}, "spec": {
                   "type": "object", "required": ["entrypoint", "rayClusterSpec"], "additionalProperties": False,
                   "properties": {"entrypoint": {"type": "string"}, "shutdownAfterJobFinishes": {"type": "boolean"},
                                  "ttlSecondsAfterFinished": {"type": "integer", "minimum": 0},
                                  "rayClusterSpec": _CLUSTER_SPEC}}}},
}


def _ray_start_options() -> set[str]:
    ray = str(Path(sys.executable).with_name("ray"))
    help_text = subprocess.run([ray, "start", "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"--([a-z][a-z0-9-]+)", help_text))


def _check_digitlab_command(command: str) -> None:
    words = shlex.split(command)
    words = words[words.index(next(word for word in words if word.endswith("digitlab"))) + 1:]
    build_parser().parse_args(words)  # exits (a SystemExit the test shows) on an option digitlab lacks


def test_cluster_launcher_yaml_passes_rays_own_schema():
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = yaml.safe_load((DEPLOY / "ray" / "cluster.yaml").read_text())
    validate_config(prepare_config(config))
    known = _ray_start_options()
    commands = config["setup_commands"] + config["head_start_ray_commands"] + config["worker_start_ray_commands"]
    for command in commands:
        if " ray start" in f" {command}" or "/ray start" in command:
            flags = {flag.split("=")[0] for flag in re.findall(r"--([a-z][a-z0-9-]+(?:=\S*)?)", command)}
            assert flags <= known, (command, flags - known)
        if "digitlab " in command and "pip install" not in command:
            _check_digitlab_command(command)


@pytest.mark.parametrize("path", KUBERAY, ids=lambda path: path.name)
def test_kuberay_manifests_fit_the_resources_and_their_commands_parse(path):
    manifest = yaml.safe_load(path.read_text())
    jsonschema.validate(manifest, SCHEMAS[manifest["kind"]])
    spec = manifest["spec"].get("rayClusterSpec", manifest["spec"])
    known = _ray_start_options()
    for group in [spec["headGroupSpec"], *spec.get("workerGroupSpecs", [])]:
        assert set(group.get("rayStartParams", {})) <= known, path.name
        group_range = (group.get("minReplicas", 0), group.get("replicas", 0), group.get("maxReplicas", 0))
        assert group is spec["headGroupSpec"] or group_range[0] <= group_range[1] <= group_range[2]
    if manifest["kind"] == "RayJob":
        _check_digitlab_command(manifest["spec"]["entrypoint"])
        assert "--ray-address auto" in manifest["spec"]["entrypoint"]  # the job's cluster, found through RAY_ADDRESS


def test_the_schema_catches_what_it_is_for():
    manifest = yaml.safe_load((DEPLOY / "kuberay" / "raycluster.yaml").read_text())
    manifest["spec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] = 0  # a number: the CRD wants strings
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, SCHEMAS["RayCluster"])
    with pytest.raises(SystemExit):
        _check_digitlab_command("digitlab batch /in --out /out --no-such-option")
