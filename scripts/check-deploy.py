#!/usr/bin/env python3
"""Checks docker-compose.yml by reading it (no Docker engine needed): the five services,
pinned images, health checks, depends_on on healthy services, named volumes, the api built
from the Dockerfile, and every ${VAR} it uses documented in .env.example."""
import re
import sys
from pathlib import Path

import yaml

root = Path(__file__).resolve().parent.parent
text = (root / "docker-compose.yml").read_text()
compose = yaml.safe_load(text)
env_example = (root / ".env.example").read_text()
documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", env_example, re.M))
errors = []

services = compose.get("services", {})
for name in ["api", "postgres", "minio", "prometheus", "grafana"]:
    if name not in services:
        errors.append(f"service {name} missing")
for name, svc in services.items():
    if "healthcheck" not in svc:
        errors.append(f"{name}: no healthcheck")
    image = svc.get("image", "")
    if "build" not in svc:
        tag = image.rsplit(":", 1)[-1] if ":" in image else ""
        if not tag or tag == "latest":
            errors.append(f"{name}: image {image!r} is not pinned to a tag")
    for dep, cond in (svc.get("depends_on") or {}).items():
        wanted = {"service_healthy"}
        if name in ("prometheus", "grafana"):
            # Monitoring must come up even when what it watches is unhealthy.
            wanted.add("service_started")
        if not isinstance(cond, dict) or cond.get("condition") not in wanted:
            errors.append(f"{name}: depends_on {dep} must wait for {' or '.join(sorted(wanted))}")
        if dep not in services:
            errors.append(f"{name}: depends_on unknown service {dep}")
    for vol in svc.get("volumes", []) or []:
        src = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
        if not src.startswith((".", "/")) and src not in (compose.get("volumes") or {}):
            errors.append(f"{name}: volume {src} is not a declared named volume")

api = services.get("api", {})
if api.get("build") not in (".", {"context": "."}) or not (root / "Dockerfile").exists():
    errors.append("api must be built from ./Dockerfile")
if api.get("env_file") not in (".env", [".env"]):
    errors.append("api must read its settings from .env")
if not services.get("minio", {}).get("image", "").startswith("quay.io/minio/minio:"):
    errors.append("minio must come from quay.io/minio/minio (minio/minio on Docker Hub is gone)")
if not {"postgres", "minio"} <= set(api.get("depends_on") or {}):
    errors.append("api must depend on postgres and minio")

# Listening beyond loopback, GoDrive refuses its public development secrets: compose must
# demand them (${VAR:?message}) rather than start a server that exits.
api_env = api.get("environment") or {}
if str(api_env.get("GODRIVE_BIND_ADDR", "")) not in ("127.0.0.1", "::1"):
    for secret in ["GODRIVE_MASTER_KEY", "GODRIVE_JWT_SECRET", "GODRIVE_JWT_REFRESH_SECRET"]:
        if not re.fullmatch(r"\$\{" + secret + r":\?[^}]+\}", str(api_env.get(secret, ""))):
            errors.append(f"api: {secret} must be required (${{{secret}:?...}}): it listens on {api_env.get('GODRIVE_BIND_ADDR')}")

# Every setting the api service is given is one GoDrive knows (docs/CONFIGURATION.md).
reference = (root / "docs" / "CONFIGURATION.md").read_text()
for key in (api.get("environment") or {}):
    if f"`{key}`" not in reference:
        errors.append(f"api: {key} is not in docs/CONFIGURATION.md")
for profile in ["development", "staging", "production"]:
    if not (root / "config" / f"{profile}.toml").exists():
        errors.append(f"config/{profile}.toml missing")

dockerfile = (root / "Dockerfile").read_text()
if not re.search(r"^USER\s+(?!root\b|0\b)\S+", dockerfile, re.M):
    errors.append("Dockerfile: the runtime stage must run as a non-root USER")
if "HEALTHCHECK" not in dockerfile or dockerfile.count("FROM ") < 2:
    errors.append("Dockerfile: multi-stage with a HEALTHCHECK expected")

for var in sorted(set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))):
    if var not in documented:
        errors.append(f"${{{var}}} is used but not listed in .env.example")

for e in errors:
    print("check-deploy:", e, file=sys.stderr)
if errors:
    sys.exit(1)
print(f"check-deploy: docker-compose.yml OK ({len(services)} services)")
