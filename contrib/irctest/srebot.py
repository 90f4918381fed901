"""irctest controller for srebot (client tests: cap, sasl, tls).

Copy (or symlink) this file into irctest's `irctest/controllers/` and run, from irctest's
checkout, with srebot's binary in $SREBOT_BIN (default: `srebot` on PATH):

    SREBOT_BIN=/path/to/srebot .venv/bin/pytest --controller irctest.controllers.srebot \
        irctest/client_tests/cap.py irctest/client_tests/sasl.py irctest/client_tests/tls.py

srebot refuses a config without [[channels]], so one is written; the database lives in the
test's directory, so an STS policy survives the restart that `testSts` makes.
"""

import json
import os
from typing import Optional, Type

from irctest import authentication, tls
from irctest.basecontrollers import BaseClientController, DirectoryBasedController

TEMPLATE_CONFIG = """
[irc]
server = {hostname}
port = {port}
nick = "srebot"
tls = {tls}
tls_fingerprints = [{fingerprints}]
{sasl}
[irc.flood]
burst = 20
interval_ms = 100
[irc.timeouts]
connect = 5
reconnect_min = 1
reconnect_max = 2

[[channels]]
name = "#irctest"
role = "public"

[storage]
database = {database}
"""


def toml_string(s: str) -> str:
    # A JSON string is a valid TOML basic string.
    return json.dumps(s)


class SrebotController(BaseClientController, DirectoryBasedController):
    software_name = "srebot"
    supported_sasl_mechanisms = {"PLAIN", "ECDSA-NIST256P-CHALLENGE", "SCRAM-SHA-256"}
    supports_sts = True

    def run(
        self,
        hostname: str,
        port: int,
        auth: Optional[authentication.Authentication],
        tls_config: Optional[tls.TlsConfig] = None,
    ) -> None:
        if tls_config is None:
            tls_config = tls.TlsConfig(enable=False, trusted_fingerprints=[])
        assert self.proc is None
        self.create_config()
        assert self.directory
        sasl = ""
        if auth:
            mechanisms = ", ".join(toml_string(m.to_string()) for m in auth.mechanisms)
            sasl = "[irc.sasl]\nmechanisms = [{}]\naccount = {}\n".format(
                mechanisms, toml_string(auth.username or "")
            )
            if auth.password:
                sasl += "password = {}\n".format(toml_string(auth.password))
            if auth.ecdsa_key:
                with self.open_file("ecdsa_key.pem", "w") as fd:
                    fd.write(auth.ecdsa_key)
                sasl += "key_file = {}\n".format(
                    toml_string(str(self.directory / "ecdsa_key.pem"))
                )
        fingerprints = ", ".join(
            toml_string("sha256:" + f) for f in tls_config.trusted_fingerprints
        )
        with self.open_file("srebot.toml", "w") as fd:
            fd.write(
                TEMPLATE_CONFIG.format(
                    hostname=toml_string(hostname),
                    port=port,
                    tls="true" if tls_config.enable else "false",
                    fingerprints=fingerprints,
                    sasl=sasl,
                    database=toml_string(str(self.directory / "srebot.sqlite3")),
                )
            )
        binary = os.environ.get("SREBOT_BIN", "srebot")
        self.proc = self.execute(
            [binary, "--config", str(self.directory / "srebot.toml")]
        )


def get_irctest_controller_class() -> Type[SrebotController]:
    return SrebotController
