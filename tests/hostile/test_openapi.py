"""The OpenAPI document describes the service: schemathesis --checks all finds nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from service_proc import SERVICE_TOKEN, Served

CONFIG = Path(__file__).parent / "schemathesis.toml"


def test_the_document_is_typed_for_generated_clients(served: Served) -> None:
    doc = httpx.get(f"{served.url}/docs.json", timeout=30).json()
    predict = doc["paths"]["/predict"]["post"]
    assert predict["requestBody"]["required"] is True
    assert {"400", "409", "413", "415", "422", "503"} <= set(predict["responses"]) and "401" not in predict["responses"]  # open by default
    feedback = doc["paths"]["/feedback"]["post"]
    assert {"400", "401", "404", "409", "413", "415", "422", "503"} <= set(feedback["responses"])
    assert feedback["security"] == [{"bearer": []}] and doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    error = doc["components"]["schemas"]["Error"]
    assert error["properties"]["detail"]["type"] == "array"
    answer = predict["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert all(answer[f].get("nullable") for f in ("client_request_id", "probability", "interval", "explanation"))


@pytest.mark.slow
def test_schemathesis_checks_all_find_no_failure(served: Served, tmp_path: Path) -> None:
    """Bounded (10 examples per operation, fixed seed) so CI stays fast; with the token, so protected routes are exercised."""
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(CONFIG), "run", f"{served.url}/docs.json",
        "--checks", "all", "--max-examples", "10", "--seed", "5", "--no-shrink",
        "--generation-database", "none", "--workers", "1", "--request-timeout", "30",
        "--exclude-path-regex", "^/(healthz|livez|readyz|metrics)$",
        "-H", f"Authorization: Bearer {SERVICE_TOKEN}",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    counted = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert counted and counted.group(1) == counted.group(2) and int(counted.group(1)) > 100, done.stdout[-2000:]
