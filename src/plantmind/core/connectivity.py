"""The ``connectors:`` section of a site in plant.yaml: which industrial peers (OPC UA servers,
MQTT brokers with plain JSON or Sparkplug B, Modbus TCP devices) feed which plant signals.

Secrets never live in the file: a connector names the environment variable that holds a
password (``password_env: PLANT_OPCUA_PASSWORD``) and :func:`read_secret` reads it when the
connector connects. The models therefore hold nothing secret, and their ``repr`` and the logs
show only variable names.

:func:`validate_connector_signals` reports connector entries that name signals the plant does
not have, with their path in the document (``sites[0].connectors[1].nodes.P-101.flow``).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # plant.py imports this module; avoid the cycle at runtime
    from plantmind.core.plant import Plant

__all__ = [
    "ConnectorConfig",
    "MissingSecretError",
    "ModbusConfig",
    "ModbusRegister",
    "MqttConfig",
    "MqttTopicMap",
    "OpcUaConfig",
    "OpcUaSecurity",
    "PasswordAuth",
    "SparkplugConfig",
    "TlsConfig",
    "read_secret",
    "validate_connector_signals",
]

ConnectorId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MissingSecretError(RuntimeError):
    """The environment variable that should hold a secret is not set."""


def read_secret(env_name: str | None) -> str | None:
    """The value of the environment variable ``env_name`` (``None`` when no variable is named).

    Raises :class:`MissingSecretError` naming the variable (never a value) when it is unset.
    """
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise MissingSecretError(f"environment variable {env_name} is not set")
    return value


class PasswordAuth(_Model):
    """Username and password; the password is read from the environment variable named."""

    username: str = Field(min_length=1)
    password_env: EnvName = Field(description="Environment variable holding the password.")


class TlsConfig(_Model):
    """TLS towards an MQTT broker. Paths are PEM files; ``insecure`` skips hostname checks."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    key_password_env: EnvName | None = None
    insecure: bool = False


class Backoff(_Model):
    """Exponential back-off between reconnect attempts: ``initial_s``, doubling, capped."""

    initial_s: float = Field(default=0.5, gt=0, le=60)
    max_s: float = Field(default=30.0, gt=0, le=3600)


# --- OPC UA ------------------------------------------------------------------------------------

OpcUaPolicy = Literal[
    "None", "Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss", "Basic128Rsa15"
]


class OpcUaSecurity(_Model):
    """Secure channel settings (OPC UA Part 4 §5.5.2, OpenSecureChannel; Part 7 for policies).

    With a policy other than ``None`` the client presents ``certificate`` (DER or PEM) and signs
    with ``private_key``; ``mode`` chooses signing only or signing and encryption.
    """

    policy: OpcUaPolicy = "None"
    mode: Literal["None", "Sign", "SignAndEncrypt"] = "None"
    certificate: str | None = None
    private_key: str | None = None
    private_key_password_env: EnvName | None = None
    server_certificate: str | None = Field(
        default=None, description="Pin the server's certificate (path); optional."
    )

    @model_validator(mode="after")
    def _consistent(self) -> OpcUaSecurity:
        if (self.policy == "None") != (self.mode == "None"):
            raise ValueError("policy and mode must both be 'None' or both be set")
        if self.policy != "None" and not (self.certificate and self.private_key):
            raise ValueError(f"policy {self.policy} needs 'certificate' and 'private_key'")
        return self


class OpcUaConfig(_Model):
    """An OPC UA server: the nodes (``ns=2;s=Pump.Flow``) that carry each signal."""

    protocol: Literal["opcua"]
    id: ConnectorId
    url: str = Field(pattern=r"^opc\.tcp://", description="opc.tcp://host:port/path")
    security: OpcUaSecurity = Field(default_factory=OpcUaSecurity)
    auth: PasswordAuth | None = None
    nodes: dict[str, str] = Field(description="signal id → node id", min_length=1)
    publishing_interval_ms: float = Field(default=500.0, gt=0, le=3_600_000)
    sampling_interval_ms: float | None = Field(default=None, ge=0)
    timeout_s: float = Field(default=4.0, gt=0, le=120)
    node_check_interval_s: float = Field(
        default=10.0, gt=0, le=3600, description="How often missing or deleted nodes are checked."
    )
    reconnect: Backoff = Field(default_factory=Backoff)


# --- MQTT (plain JSON) -------------------------------------------------------------------------


def _check_filter(topic: str) -> str:
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if ("+" in level and level != "+") or ("#" in level and level != "#"):
            raise ValueError(f"topic {topic!r}: '+' and '#' must fill a whole level")
        if level == "#" and i != len(levels) - 1:
            raise ValueError(f"topic {topic!r}: '#' must be the last level")
    return topic


class MqttTopicMap(_Model):
    """How messages on ``topic`` (an MQTT filter, ``+``/``#`` allowed) become samples.

    Either ``signal`` (one value per message; ``{1}``, ``{2}``… are replaced by the topic levels
    that the 1st, 2nd… ``+`` matched, e.g. ``"{1}.temperature"``) read from ``value_field``, or
    ``fields`` (``signal id → field``) for messages carrying several values. Fields are dotted
    paths into the JSON object (``data.temp``); an empty ``value_field`` means the payload is a
    bare number. The timestamp comes from ``timestamp_field`` (epoch s, epoch ms or ISO 8601,
    see ``timestamp_unit``); without one, the arrival time is used.
    """

    topic: str = Field(min_length=1)
    signal: str | None = None
    value_field: str = "value"
    fields: dict[str, str] = Field(default_factory=dict)
    timestamp_field: str | None = "ts"
    timestamp_unit: Literal["auto", "s", "ms", "iso"] = "auto"
    qos: Literal[0, 1, 2] = 0

    @model_validator(mode="after")
    def _one_mapping(self) -> MqttTopicMap:
        _check_filter(self.topic)
        if (self.signal is None) == (not self.fields):
            raise ValueError("give exactly one of 'signal' or 'fields'")
        if self.signal:
            n_plus = self.topic.split("/").count("+")
            for ref in re.findall(r"\{(\d+)\}", self.signal):
                if not 1 <= int(ref) <= n_plus:
                    raise ValueError(
                        f"signal {self.signal!r} refers to {{{ref}}} but topic {self.topic!r} "
                        f"has {n_plus} '+' level(s)"
                    )
        return self


class MqttConfig(_Model):
    """An MQTT broker carrying plain JSON messages."""

    protocol: Literal["mqtt"]
    id: ConnectorId
    host: str = Field(min_length=1)
    port: int = Field(default=1883, ge=1, le=65535)
    client_id: str | None = None
    tls: TlsConfig | None = None
    auth: PasswordAuth | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    topics: list[MqttTopicMap] = Field(min_length=1)
    reconnect: Backoff = Field(default_factory=Backoff)


# --- Sparkplug B -------------------------------------------------------------------------------


class SparkplugConfig(_Model):
    """One Sparkplug B edge node (and optionally one of its devices) on an MQTT broker.

    ``metrics`` maps signal ids to metric names as declared in the NBIRTH (node metrics) or, with
    ``device``, the DBIRTH (Sparkplug B 3.0 §6.4.x); aliases are learnt from the births.
    """

    protocol: Literal["sparkplug"]
    id: ConnectorId
    host: str = Field(min_length=1)
    port: int = Field(default=1883, ge=1, le=65535)
    client_id: str | None = None
    tls: TlsConfig | None = None
    auth: PasswordAuth | None = None
    group_id: str = Field(min_length=1, pattern=r"^[^/+#]+$")
    edge_node: str = Field(min_length=1, pattern=r"^[^/+#]+$")
    device: str | None = Field(default=None, pattern=r"^[^/+#]+$")
    metrics: dict[str, str] = Field(description="signal id → metric name", min_length=1)
    rebirth_on_gap: bool = True
    rebirth_holdoff_s: float = Field(default=2.0, ge=0, le=600)
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    reconnect: Backoff = Field(default_factory=Backoff)


# --- Modbus TCP --------------------------------------------------------------------------------

REGISTER_WIDTH = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}


class ModbusRegister(_Model):
    """One value in a register table: ``value = raw * scale + offset``.

    ``address`` is the 0-based protocol address (register 40001 is holding address 0). 32-bit
    types span two registers; ``word_order: little`` puts the low word first (bytes inside a
    register are always big-endian, Modbus Application Protocol v1.1b3 §4.2).
    """

    signal: str = Field(min_length=1)
    table: Literal["holding", "input"] = "holding"
    address: int = Field(ge=0, le=65535)
    type: Literal["int16", "uint16", "int32", "uint32", "float32"] = "uint16"
    word_order: Literal["big", "little"] = "big"
    scale: float = 1.0
    offset: float = 0.0

    @property
    def count(self) -> int:
        return REGISTER_WIDTH[self.type]


class ModbusConfig(_Model):
    """A Modbus TCP device polled every ``poll_interval_s``."""

    protocol: Literal["modbus"]
    id: ConnectorId
    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    unit: int = Field(default=1, ge=0, le=255)
    poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    timeout_s: float = Field(default=2.0, gt=0, le=60)
    registers: list[ModbusRegister] = Field(min_length=1)
    reconnect: Backoff = Field(default_factory=Backoff)


ConnectorConfig = Annotated[
    OpcUaConfig | MqttConfig | SparkplugConfig | ModbusConfig, Field(discriminator="protocol")
]


def _referenced_signals(conn: BaseModel) -> list[tuple[str, str]]:
    """``(path inside the connector, signal id)`` for every static signal reference."""
    if isinstance(conn, OpcUaConfig):
        return [(f"nodes.{sid}", sid) for sid in conn.nodes]
    if isinstance(conn, SparkplugConfig):
        return [(f"metrics.{sid}", sid) for sid in conn.metrics]
    if isinstance(conn, ModbusConfig):
        return [(f"registers[{i}].signal", r.signal) for i, r in enumerate(conn.registers)]
    if isinstance(conn, MqttConfig):
        out = []
        for i, t in enumerate(conn.topics):
            if t.signal is not None and "{" not in t.signal:  # templates resolve at runtime
                out.append((f"topics[{i}].signal", t.signal))
            out.extend((f"topics[{i}].fields.{sid}", sid) for sid in t.fields)
        return out
    return []


def validate_connector_signals(plant: Plant) -> list[str]:
    """Problems with the connectors of ``plant``: signal ids that the connector's site does not
    define and connector ids used twice in a site. Empty when all is well."""
    problems: list[str] = []
    for si, site in enumerate(plant.sites):
        known = {sig.id for line in site.lines for asset in line.assets for sig in asset.signals}
        seen: set[str] = set()
        for ci, conn in enumerate(site.connectors):
            base = f"sites[{si}].connectors[{ci}]"
            if conn.id in seen:
                problems.append(f"{base}.id: duplicate connector id {conn.id!r}")
            seen.add(conn.id)
            for path, sid in _referenced_signals(conn):
                if sid not in known:
                    problems.append(
                        f"{base}.{path}: unknown signal id {sid!r} (not a signal of site {site.id!r})"
                    )
    return problems
