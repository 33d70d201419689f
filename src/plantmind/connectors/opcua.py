"""OPC UA client side: a subscription source for the nodes that plant.yaml maps to signals, and
an address-space browser for ``plantmind connect browse``.

What the OPC UA specification fixes and this module relies on (OPC 10000-4, *Part 4: Services*):

* the secure channel's policy and mode (§5.5.2 OpenSecureChannel; policies in Part 7) and the
  user identity token of ActivateSession (§5.6.3): anonymous, user name and password, or none
  of those with a certificate-signed channel;
* one subscription (§5.13.2 CreateSubscription) with one monitored item per node (§5.12.2
  CreateMonitoredItems); each DataValue carries a *SourceTimestamp*, the time the value was
  taken at its source (Part 4 §7.11; Part 8 for DataValue), which becomes the sample time; the
  *ServerTimestamp* is the fallback, the arrival time the last resort;
* a monitored item that cannot be created answers ``BadNodeIdUnknown`` (or similar) in its own
  result, and a node deleted later reports a bad status in its notifications: both are logged
  once, naming the source, signal and node, while the other nodes keep flowing. Because not
  every server notifies monitored items of a deleted node, the subscribed nodes are also
  checked with one Read (§5.10.2) every ``node_check_interval_s``, and missing nodes are
  subscribed again then.

After a lost connection the whole session (channel, session, subscription, monitored items) is
rebuilt with exponential back-off (:class:`~plantmind.connectors.live.LiveSource`); asyncua's
own auto-reconnect is switched off so that exactly one party reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncua import Client, Node, ua
from asyncua.crypto import security_policies

from plantmind.connectors.live import LiveSource, PeerLost
from plantmind.core.connectivity import OpcUaConfig, OpcUaSecurity, PasswordAuth, read_secret
from plantmind.core.plant import PlantIndex

__all__ = ["BrowseNode", "OpcUaSource", "browse", "browse_tree", "format_tree", "make_client"]

_GONE = (ua.StatusCodes.BadNodeIdUnknown, ua.StatusCodes.BadNodeIdInvalid)


def _application_uri(cert_path: str) -> str | None:
    """The application URI in the certificate's subjectAltName; the client must announce the
    same URI or the server rejects the channel (Part 4 §5.6.2, Part 6 §6.2.2)."""
    from cryptography import x509

    data = Path(cert_path).read_bytes()
    cert = (
        x509.load_pem_x509_certificate(data)
        if data.lstrip().startswith(b"-----")
        else x509.load_der_x509_certificate(data)
    )
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


async def make_client(
    url: str,
    *,
    security: OpcUaSecurity | None = None,
    auth: PasswordAuth | None = None,
    timeout_s: float = 4.0,
) -> Client:
    """A configured, not yet connected asyncua client. The password is read from the
    environment here and handed to the client only."""
    client = Client(url, timeout=timeout_s, watchdog_intervall=1.0, auto_reconnect=False)
    client.name = client.description = "plantmind"
    if security is not None and security.policy != "None":
        assert security.certificate and security.private_key  # guaranteed by the model
        uri = _application_uri(security.certificate)
        if uri:
            client.application_uri = uri
        policy = getattr(security_policies, f"SecurityPolicy{security.policy}")
        await client.set_security(
            policy,
            security.certificate,
            security.private_key,
            read_secret(security.private_key_password_env),
            security.server_certificate,
            getattr(ua.MessageSecurityMode, security.mode),
        )
    if auth is not None:
        client.set_user(auth.username)
        client.set_password(read_secret(auth.password_env) or "")
    return client


def _epoch(dt: datetime | None) -> float | None:
    if dt is None:
        return None
    if dt.tzinfo is None:  # OPC UA DateTime is UTC (Part 6 §5.2.2.5)
        dt = dt.replace(tzinfo=UTC)
    t = dt.timestamp()
    return t if t > 0 else None  # MinDateTime means "not set"


def _as_float(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float):
        return float(v)
    return None


class _Handler:
    """asyncua subscription callbacks, forwarded to the source."""

    def __init__(self, source: OpcUaSource, lost: asyncio.Event) -> None:
        self.source = source
        self.lost = lost

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        self.source._on_change(node, data.monitored_item.Value)

    def status_change_notification(self, status: Any) -> None:
        # the server ended the subscription (Part 4 §7.20.4 StatusChangeNotification)
        self.lost.set()


class OpcUaSource(LiveSource):
    """Subscribes to the nodes of ``config`` (see the module docstring)."""

    def __init__(self, config: OpcUaConfig, index: PlantIndex) -> None:
        super().__init__(config.id, index, config.reconnect)
        self.config = config
        self._targets: dict[str, list[tuple[str, int]]] = {}  # node id text → [(signal, index)]
        for sid, node_id in config.nodes.items():
            s = self.signal_index(sid)
            if s is None:
                self.problem(
                    f"signal {sid}", f"node {node_id}: signal is not in the plant; ignored"
                )
                continue
            key = ua.NodeId.from_string(node_id).to_string()
            self._targets.setdefault(key, []).append((sid, s))
        self.missing: set[str] = set()
        self._handles: dict[str, int] = {}  # node id text → monitored item handle
        self.stats.extra["notifications"] = 0

    async def _session(self) -> None:
        cfg = self.config
        client = await make_client(
            cfg.url, security=cfg.security, auth=cfg.auth, timeout_s=cfg.timeout_s
        )
        lost = asyncio.Event()

        async def on_lost(exc: Exception) -> None:
            lost.set()

        client.connection_lost_callback = on_lost
        up = False
        try:
            await asyncio.wait_for(client.connect(), timeout=cfg.timeout_s * 2)
            up = True
            self.log.info("source %s: connected to %s", self.name, cfg.url)
            params = ua.CreateSubscriptionParameters(
                RequestedPublishingInterval=cfg.publishing_interval_ms,
                RequestedLifetimeCount=10000,
                RequestedMaxKeepAliveCount=10,
                MaxNotificationsPerPublish=0,
                PublishingEnabled=True,
                Priority=0,
            )
            sub = await client.create_subscription(params, _Handler(self, lost))
            self.mark_connected()
            self.missing = set(self._targets)
            self._handles = {}
            await self._subscribe(client, sub)
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), timeout=cfg.node_check_interval_s)
                if not lost.is_set():
                    await self._check_nodes(client, sub)
            raise PeerLost("connection to the server lost")
        finally:
            with contextlib.suppress(Exception):
                if up:
                    await asyncio.wait_for(client.disconnect(), timeout=2.0)
                else:
                    client.disconnect_socket()

    async def _subscribe(self, client: Client, sub: Any) -> None:
        keys = sorted(self.missing)
        nodes = [client.get_node(k) for k in keys]
        interval = (
            self.config.sampling_interval_ms
            if self.config.sampling_interval_ms is not None
            else self.config.publishing_interval_ms
        )
        results = await sub.subscribe_data_change(nodes, sampling_interval=interval)
        for key, res in zip(keys, results, strict=True):
            if isinstance(res, ua.StatusCode):
                self._node_problem(key, f"cannot subscribe ({res.name})")
            else:
                self._handles[key] = res
                self.missing.discard(key)
                if f"node {key}" in self._reported:
                    self.log.info("source %s: node %s is back", self.name, key)
                self.forget_problem(f"node {key}")

    async def _check_nodes(self, client: Client, sub: Any) -> None:
        """Find subscribed nodes that were deleted (not every server notifies the monitored
        items of a deleted node) and retry the missing ones."""
        live = sorted(self._handles)
        if live:
            nodes = [client.get_node(k) for k in live]
            results = await client.read_attributes(nodes, ua.AttributeIds.NodeClass)
            for key, dv in zip(live, results, strict=True):
                status = dv.StatusCode
                if status is not None and status.value in _GONE:
                    self._node_problem(key, f"node disappeared ({status.name})")
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe(self._handles[key])
                    del self._handles[key]
                    self.missing.add(key)
        if self.missing:
            await self._subscribe(client, sub)

    def _node_problem(self, key: str, what: str) -> None:
        signals = ", ".join(sid for sid, _ in self._targets[key])
        self.problem(
            f"node {key}",
            f"{what} for signal {signals}; other nodes keep flowing, retried every "
            f"{self.config.node_check_interval_s:g}s",
        )

    def _on_change(self, node: Node, dv: ua.DataValue) -> None:
        self.stats.extra["notifications"] += 1
        key = node.nodeid.to_string()
        targets = self._targets.get(key)
        if not targets:
            return
        status = dv.StatusCode
        if status is not None and not status.is_good():
            # Uncertain values are kept out too: the detector must only see good data.
            self._node_problem(key, f"status {status.name}")
            return
        value = _as_float(dv.Value.Value if dv.Value is not None else None)
        if value is None or not math.isfinite(value):
            vtype = type(dv.Value.Value).__name__ if dv.Value is not None else "None"
            self.problem(f"node {key}", f"value of type {vtype} is not a finite number; skipped")
            return
        ts = _epoch(dv.SourceTimestamp) or _epoch(dv.ServerTimestamp) or time.time()
        for _, s in targets:
            self.push(s, ts, value)


# --- browsing ----------------------------------------------------------------------------------


@dataclass
class BrowseNode:
    """One node of the address space as the browser saw it."""

    node_id: str
    browse_name: str
    node_class: str
    data_type: str | None = None
    value: str | None = None
    children: list[BrowseNode] = field(default_factory=list)
    truncated: bool = False


_SERVER_OBJECT = "i=2253"  # the Server object: diagnostics, not plant data


async def _browse_node(
    node: Node, depth: int, budget: list[int], include_server: bool
) -> BrowseNode:
    name = await node.read_browse_name()
    ncls = await node.read_node_class()
    out = BrowseNode(node.nodeid.to_string(), name.to_string(), ncls.name)
    budget[0] -= 1
    if ncls == ua.NodeClass.Variable:
        with contextlib.suppress(Exception):
            dv = await node.read_data_value(raise_on_bad_status=False)
            if dv.Value is not None and dv.Value.VariantType is not None:
                out.data_type = dv.Value.VariantType.name
            text = repr(dv.Value.Value) if dv.Value is not None else "None"
            out.value = text if len(text) <= 60 else text[:57] + "..."
    if depth <= 0:
        out.truncated = bool(await node.get_children())
        return out
    for child in await node.get_children():
        if not include_server and child.nodeid.to_string() == _SERVER_OBJECT:
            continue
        if budget[0] <= 0:
            out.truncated = True
            break
        out.children.append(await _browse_node(child, depth - 1, budget, include_server))
    return out


async def browse(
    url: str,
    *,
    depth: int = 3,
    root: str | None = None,
    security: OpcUaSecurity | None = None,
    auth: PasswordAuth | None = None,
    timeout_s: float = 10.0,
    max_nodes: int = 5000,
    include_server: bool = False,
) -> BrowseNode:
    """Browse the server at ``url`` from ``root`` (default: the Objects folder, ``i=85``) down
    to ``depth`` levels, at most ``max_nodes`` nodes; the standard Server object is left out
    unless ``include_server``."""
    client = await make_client(url, security=security, auth=auth, timeout_s=timeout_s)
    await asyncio.wait_for(client.connect(), timeout=timeout_s)
    try:
        start = client.get_node(root) if root else client.nodes.objects
        return await _browse_node(start, depth, [max_nodes], include_server)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), timeout=2.0)


def format_tree(tree: BrowseNode) -> list[str]:
    """Printable lines, one per node, indented by depth: ``name  [class type]  node id = value``.

    >>> format_tree(BrowseNode("i=85", "0:Objects", "Object",
    ...     children=[BrowseNode("ns=2;s=P.Flow", "2:Flow", "Variable", "Double", "12.5")]))
    ['0:Objects  [Object]  i=85', '  2:Flow  [Variable Double]  ns=2;s=P.Flow = 12.5']
    """
    lines: list[str] = []

    def walk(n: BrowseNode, level: int) -> None:
        kind = f"{n.node_class} {n.data_type}" if n.data_type else n.node_class
        text = f"{'  ' * level}{n.browse_name}  [{kind}]  {n.node_id}"
        if n.value is not None:
            text += f" = {n.value}"
        if n.truncated and not n.children:
            text += "  …"
        lines.append(text)
        for c in n.children:
            walk(c, level + 1)
        if n.truncated and n.children:
            lines.append(f"{'  ' * (level + 1)}…")

    walk(tree, 0)
    return lines


async def browse_tree(
    url: str,
    depth: int = 3,
    *,
    username: str | None = None,
    password_env: str | None = None,
    security: OpcUaSecurity | None = None,
    root: str | None = None,
    timeout_s: float = 10.0,
) -> list[str]:
    """The address space under ``root`` as printable lines (for ``plantmind connect browse``);
    the password, if any, is read from the environment variable ``password_env``."""
    auth = None
    if username is not None:
        if password_env is None:
            raise ValueError("a username needs password_env, the variable holding the password")
        auth = PasswordAuth(username=username, password_env=password_env)
    tree = await browse(
        url, depth=depth, root=root, security=security, auth=auth, timeout_s=timeout_s
    )
    return format_tree(tree)
