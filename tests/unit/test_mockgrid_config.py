"""write_config / client_config / ensure_registry: what the mock grid and its clients read."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography import x509

from b2env import mockgrid, testca
from b2env.config import Config
from tests.unit.test_mockgrid_harness import diraccfg


def test_write_config_has_server_cert_ca_registry_and_settings(tmp_path: Path) -> None:
    cfg = Config(state_dir=str(tmp_path))
    directory = mockgrid.write_config(cfg, mockgrid.FailureSettings(failure_rate=0.3, seed=5))

    assert directory == tmp_path / "mock-grid"
    cert = x509.load_pem_x509_certificate((directory / "hostcert.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) >= {"mock-grid", "b2env-mock-grid",
                                                             "localhost"}
    ca = testca.ensure_ca(tmp_path)
    assert cert.issuer == ca.cert.subject
    assert (directory / "hostkey.pem").stat().st_mode & 0o077 == 0
    users = json.loads((directory / "users.json").read_text())["users"]
    assert sorted(users) == ["aexample", "bexample"]
    assert users["aexample"]["dn"] == "/DC=org/DC=b2env-test/OU=Users/CN=Alex Example"
    assert users["bexample"]["groups"] == ["belle", "belle_starterkit"]
    settings = json.loads((directory / "settings.json").read_text())
    assert settings["failure_rate"] == 0.3 and settings["seed"] == 5
    assert mockgrid.read_settings(cfg).failure_rate == 0.3


def test_write_config_keeps_the_server_cert_and_settings_when_called_again(tmp_path: Path) -> None:
    cfg = Config(state_dir=str(tmp_path))
    directory = mockgrid.write_config(cfg, mockgrid.FailureSettings(seed=9))
    first = (directory / "hostcert.pem").read_bytes()

    mockgrid.write_config(cfg)

    assert (directory / "hostcert.pem").read_bytes() == first
    assert mockgrid.read_settings(cfg).seed == 9


def test_client_config_names_the_url_and_the_registry(tmp_path: Path) -> None:
    cfg = Config(state_dir=str(tmp_path), mock_grid_url="https://mock-grid:9443")

    parsed = diraccfg.parse(mockgrid.client_config(cfg))

    assert diraccfg.service_url(parsed) == "https://mock-grid:9443"
    alex = testca.ensure_user(tmp_path, "aexample", "Alex Example")
    assert diraccfg.users_by_dn(parsed)[alex.dn] == "aexample"
    assert diraccfg.groups_of(parsed, "bexample") == ["belle", "belle_starterkit"]
    assert diraccfg.group_properties(parsed, "belle") == "NormalUser"
