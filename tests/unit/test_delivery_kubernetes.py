"""Kubernetes manifests: every overlay renders (scripts/render_kubernetes.py), validates against
the Kubernetes schemas shipped by kubernetes-validate, and is wired consistently; the deploy
script migrates before it rolls out (checked against a fake kubectl)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from helpline.config import Settings

try:
    from _delivery import REPO, run
except ImportError:  # tests/unit became a package
    from ._delivery import REPO, run

pytestmark = pytest.mark.unit

OVERLAYS = ("development", "staging", "production")
KUBERNETES_VERSION = "1.33"
RENDER = REPO / "scripts" / "render_kubernetes.py"
APP_SELECTOR = {"app.kubernetes.io/name": "helpline", "app.kubernetes.io/component": "api"}


def render(overlay: str | Path, *args: str) -> list[dict[str, Any]]:
    path = overlay if isinstance(overlay, Path) else REPO / "deploy/kubernetes/overlays" / overlay
    result = run([os.environ.get("PYTHON", "python"), str(RENDER), str(path), *args])
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_id(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, dict[tuple[str, str], dict[str, Any]]]:
    return request.param, by_id(render(request.param))


class TestOverlays:
    def test_every_document_validates_strictly(self, overlay):
        name, docs = overlay
        for doc in docs.values():
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        assert {kind for kind, _ in docs} >= {
            "ServiceAccount",
            "ConfigMap",
            "Job",
            "Deployment",
            "Service",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy",
        }
        namespaces = {d["metadata"]["namespace"] for d in docs.values()}
        assert namespaces == {f"helpline-{'dev' if name == 'development' else name}"}

    def test_api_deployment_probes_security_and_resources(self, overlay):
        _, docs = overlay
        api = docs[("Deployment", "helpline-api")]
        spec = pod_spec(api)
        assert api["spec"]["selector"]["matchLabels"] == APP_SELECTOR
        assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 10001  # the Dockerfile's user
        assert spec["automountServiceAccountToken"] is False
        (container,) = spec["containers"]
        assert container["command"] == ["helpline", "serve"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]

    def test_every_workload_reads_settings_from_the_configmap_and_secret(self, overlay):
        _, docs = overlay
        config = docs[("ConfigMap", "helpline-config")]["data"]
        known = {f"HELPLINE_{field.upper()}" for field in Settings.model_fields}
        assert set(config) <= known, set(config) - known
        secret_names = set()
        for key in [
            ("Deployment", "helpline-api"),
            ("Deployment", "helpline-worker"),
            ("Job", "helpline-migrate"),
        ]:
            (container,) = pod_spec(docs[key])["containers"]
            refs = container["envFrom"]
            assert {"configMapRef": {"name": "helpline-config"}} in refs
            secret_names |= {r["secretRef"]["name"] for r in refs if "secretRef" in r}
            assert not container.get("env"), "settings belong in the ConfigMap or the Secret"
            assert pod_spec(docs[key])["securityContext"]["runAsNonRoot"] is True
        assert secret_names == {"helpline-secrets"}

    def test_service_hpa_and_pdb_point_at_the_api_pods(self, overlay):
        _, docs = overlay
        labels = docs[("Deployment", "helpline-api")]["spec"]["template"]["metadata"]["labels"]
        service = docs[("Service", "helpline-api")]
        assert service["spec"]["selector"].items() <= labels.items()
        assert service["spec"]["ports"][0]["targetPort"] == "http"
        hpa = docs[("HorizontalPodAutoscaler", "helpline-api")]
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "helpline-api",
        }
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        pdb = docs[("PodDisruptionBudget", "helpline-api")]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        # A budget must leave room to drain a node at the HPA's minimum.
        if "minAvailable" in pdb["spec"]:
            assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]

    def test_migrations_job_and_worker(self, overlay):
        _, docs = overlay
        job = docs[("Job", "helpline-migrate")]
        (container,) = pod_spec(job)["containers"]
        assert container["command"] == ["helpline", "db", "upgrade"]
        assert pod_spec(job)["restartPolicy"] == "Never"
        assert job["spec"]["backoffLimit"] <= 3
        (worker,) = pod_spec(docs[("Deployment", "helpline-worker")])["containers"]
        assert worker["command"] == ["helpline", "worker"]
        assert (
            worker["image"]
            == container["image"]
            == pod_spec(docs[("Deployment", "helpline-api")])["containers"][0]["image"]
        )

    def test_network_policies_deny_by_default_and_open_only_the_api_port(self, overlay):
        _, docs = overlay
        deny = docs[("NetworkPolicy", "helpline-default-deny")]["spec"]
        assert deny["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "helpline"}
        assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
        assert "ingress" not in deny
        assert "egress" not in deny
        ingress = docs[("NetworkPolicy", "helpline-api-ingress")]["spec"]
        assert ingress["podSelector"]["matchLabels"] == APP_SELECTOR
        assert [p["port"] for rule in ingress["ingress"] for p in rule["ports"]] == [8000]
        egress = docs[("NetworkPolicy", "helpline-egress")]["spec"]["egress"]
        ports = {p["port"] for rule in egress for p in rule["ports"]}
        assert ports == {53, 5432, 6432, 6379, 26379, 443}


class TestEnvironments:
    def test_development_is_small_and_carries_only_placeholder_secrets(self):
        docs = by_id(render("development"))
        assert docs[("ConfigMap", "helpline-config")]["data"]["HELPLINE_ENV"] == "development"
        assert docs[("Deployment", "helpline-api")]["spec"]["replicas"] == 1
        pdb = docs[("PodDisruptionBudget", "helpline-api")]["spec"]
        assert "minAvailable" not in pdb
        assert pdb["maxUnavailable"] == 1
        secret = docs[("Secret", "helpline-secrets")]["stringData"]
        assert "HELPLINE_SECRET_KEY" not in secret  # development's default is refused elsewhere
        (api,) = pod_spec(docs[("Deployment", "helpline-api")])["containers"]
        assert api["image"] == "localhost/helpline:dev"
        assert api["resources"]["requests"] == {"cpu": "50m", "memory": "128Mi"}
        assert api["resources"]["limits"] == {"memory": "1Gi"}  # merged, not replaced

    @pytest.mark.parametrize("env_name", ["staging", "production"])
    def test_release_environments_commit_no_secret(self, env_name: str):
        docs = by_id(render(env_name))
        assert not [key for key in docs if key[0] == "Secret"]
        config = docs[("ConfigMap", "helpline-config")]["data"]
        assert config["HELPLINE_ENV"] == env_name
        assert config["HELPLINE_ATTACHMENT_STORAGE"] == "s3"  # pods share no disk
        secret_fields = {
            "HELPLINE_SECRET_KEY",
            "HELPLINE_API_KEY_PEPPER",
            "HELPLINE_DATABASE_URL",
            "HELPLINE_REDIS_URL",
        }
        assert not secret_fields & set(config)

    def test_production_keeps_two_pods_through_disruptions(self):
        docs = by_id(render("production"))
        assert docs[("Deployment", "helpline-api")]["spec"]["replicas"] == 3
        assert docs[("Deployment", "helpline-worker")]["spec"]["replicas"] == 2
        assert docs[("PodDisruptionBudget", "helpline-api")]["spec"]["minAvailable"] == 2
        assert docs[("HorizontalPodAutoscaler", "helpline-api")]["spec"]["minReplicas"] == 3
        config = docs[("ConfigMap", "helpline-config")]["data"]
        assert config["HELPLINE_DATABASE_PGBOUNCER"] == "true"

    def test_image_tag_override_and_kind_filters(self):
        jobs = render("staging", "--only-kind", "Job", "--image-tag", "sha-abc")
        assert [d["kind"] for d in jobs] == ["Job"]
        assert pod_spec(jobs[0])["containers"][0]["image"] == "ghcr.io/helpline/helpline:sha-abc"
        rest = render("staging", "--exclude-kind", "Job")
        assert "Job" not in {d["kind"] for d in rest}
        assert len(rest) == 10


class TestRenderer:
    def _overlay(self, tmp_path: Path, kustomization: str, patch: str = "") -> Path:
        base = tmp_path / "base"
        base.mkdir()
        (base / "kustomization.yaml").write_text("resources: [deploy.yaml]\n")
        (base / "deploy.yaml").write_text(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n"
            "  template:\n    spec:\n      containers:\n"
            "        - {name: a, image: app, env: [{name: X, value: '1'}]}\n"
            "        - {name: b, image: side:1}\n"
        )
        overlay = tmp_path / "overlay"
        overlay.mkdir()
        (overlay / "kustomization.yaml").write_text(kustomization)
        if patch:
            (overlay / "patch.yaml").write_text(patch)
        return overlay

    def test_strategic_merge_by_container_name(self, tmp_path: Path):
        overlay = self._overlay(
            tmp_path,
            "resources: [../base]\npatches: [{path: patch.yaml}]\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n"
            "  template:\n    spec:\n      containers:\n"
            "        - {name: b, env: [{name: Y, value: '2'}]}\n",
        )
        (doc,) = render(overlay)
        a, b = pod_spec(doc)["containers"]
        assert a == {"name": "a", "image": "app", "env": [{"name": "X", "value": "1"}]}
        assert b == {"name": "b", "image": "side:1", "env": [{"name": "Y", "value": "2"}]}

    def test_unsupported_fields_fail_loudly(self, tmp_path: Path):
        overlay = self._overlay(tmp_path, "resources: [../base]\nconfigMapGenerator: []\n")
        result = run([os.environ.get("PYTHON", "python"), str(RENDER), str(overlay)])
        assert result.returncode == 1
        assert "unsupported fields ['configMapGenerator']" in result.stderr

    def test_patch_of_a_missing_resource_fails(self, tmp_path: Path):
        overlay = self._overlay(
            tmp_path,
            "resources: [../base]\npatches: [{path: patch.yaml}]\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nope}\ndata: {}\n",
        )
        result = run([os.environ.get("PYTHON", "python"), str(RENDER), str(overlay)])
        assert result.returncode == 1
        assert "not found" in result.stderr


FAKE_KUBECTL = """#!/usr/bin/env python3
import json, os, sys
log = os.environ["FAKE_LOG"]
args = sys.argv[1:]
stdin = sys.stdin.read() if "-f" in args and "-" in args else ""
kinds = sorted({line.split(": ", 1)[1] for line in stdin.splitlines() if line.startswith("kind: ")})
with open(log, "a") as f:
    f.write(json.dumps({"args": args, "kinds": kinds}) + "\\n")
if "wait" in args and os.environ.get("FAKE_MIGRATE_FAILS"):
    sys.exit(1)
"""


class TestDeployScript:
    @pytest.fixture
    def fake_kubectl(self, tmp_path: Path) -> dict[str, str]:
        kubectl = tmp_path / "kubectl"
        kubectl.write_text(FAKE_KUBECTL)
        kubectl.chmod(kubectl.stat().st_mode | stat.S_IEXEC)
        return {"HELPLINE_KUBECTL": str(kubectl), "FAKE_LOG": str(tmp_path / "log")}

    @staticmethod
    def calls(env: dict[str, str]) -> list[dict[str, Any]]:
        return [json.loads(line) for line in Path(env["FAKE_LOG"]).read_text().splitlines()]

    def test_migrates_before_it_rolls_out(self, fake_kubectl: dict[str, str]):
        env = {**fake_kubectl, "HELPLINE_IMAGE_TAG": "sha-1"}
        result = run(["scripts/deploy-kubernetes", "production"], env=env)
        assert result.returncode == 0, result.stderr
        calls = self.calls(env)
        verbs = [(c["args"][2], c["kinds"]) for c in calls]
        assert all(c["args"][:2] == ["-n", "helpline-production"] for c in calls)
        assert verbs[0] == ("delete", [])
        assert verbs[1] == ("apply", ["ConfigMap"])
        assert verbs[2] == ("apply", ["Job"])
        assert verbs[3][0] == "wait"
        assert "job/helpline-migrate" in calls[3]["args"]
        assert verbs[4][0] == "apply"
        assert "Deployment" in verbs[4][1]
        assert "Job" not in verbs[4][1]
        assert [c["args"][4] for c in calls[5:]] == [
            "deployment/helpline-api",
            "deployment/helpline-worker",
        ]

    def test_failed_migration_applies_nothing_else(self, fake_kubectl: dict[str, str]):
        env = {**fake_kubectl, "HELPLINE_IMAGE_TAG": "sha-1", "FAKE_MIGRATE_FAILS": "1"}
        result = run(["scripts/deploy-kubernetes", "staging"], env=env)
        assert result.returncode == 1
        assert "migration failed" in result.stderr
        applied = [c["kinds"] for c in self.calls(env) if c["args"][2] == "apply"]
        assert applied == [["ConfigMap"], ["Job"]]

    def test_unknown_environment_is_refused(self, fake_kubectl: dict[str, str]):
        result = run(
            ["scripts/deploy-kubernetes", "prod"], env={**fake_kubectl, "HELPLINE_IMAGE_TAG": "x"}
        )
        assert result.returncode == 2
        assert "unknown environment" in result.stderr
