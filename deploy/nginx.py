"""The nginx configuration for a set of Streamlit replicas: rendered from deploy/nginx.conf.template.

Open-source nginx has no `sticky` directive, so stickiness is a cookie naming the replica that last
answered (see the template's comments); each replica has an upstream of its own in which the others
stand by as `backup`, so a visitor whose replica is down is served by a live one.
"""

from __future__ import annotations

import re
import socket
import tomllib
from pathlib import Path

from deploy import fill

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).with_name("nginx.conf.template")
STREAMLIT_CONFIG = ROOT / ".streamlit" / "config.toml"
COOKIE = "denoiser_replica"
# One failed connection marks a replica down for FAIL_TIMEOUT; then nginx tries it again.
FAIL_TIMEOUT = "5s"
# Room for the multipart envelope around a file of exactly maxUploadSize.
ENVELOPE_KB = 64
# nginx keeps idle connections to a replica for reuse. Streamlit's server (uvicorn) closes a connection
# idle for 5 s; nginx's own default is 60 s, so it could send a request down a connection the replica was
# closing at that moment, get a reset, count the replica as failed and move its visitors to another one.
# nginx lets go first.
UPSTREAM_IDLE = "3s"


def max_upload_mb(config: Path = STREAMLIT_CONFIG) -> int:
    """Streamlit's upload cap in MB: server.maxUploadSize in the app's config (Streamlit's default, 200, if unset)."""
    with open(config, "rb") as f:
        return int(tomllib.load(f).get("server", {}).get("maxUploadSize", 200))


def replica_names(count: int) -> list[str]:
    """The cookie value of each replica, in the order of the addresses: r0, r1, ..."""
    return [f"r{i}" for i in range(count)]


def _server(address: str, backup: bool = False) -> str:
    return f"        server {address} max_fails=1 fail_timeout={FAIL_TIMEOUT}{' backup' if backup else ''};"


def _upstream(name: str, primary: list[str], standby: list[str]) -> str:
    lines = [f"    upstream {name} {{", f"        zone {name} 64k;"]
    lines += [_server(a) for a in primary] + [_server(a, backup=True) for a in standby]
    lines += ["        keepalive 16;", f"        keepalive_timeout {UPSTREAM_IDLE};", "    }"]
    return "\n".join(lines)


def upstreams(addresses: list[str]) -> str:
    """`any_replica` (round robin, for visitors without a cookie) and one upstream per replica.

    Replica i's standbys start at i+1, so the visitors of different replicas fail over to different ones."""
    blocks = [_upstream("any_replica", addresses, [])]
    for i, name in enumerate(replica_names(len(addresses))):
        blocks.append(_upstream(name, [addresses[i]], addresses[i + 1 :] + addresses[:i]))
    return "\n\n".join(blocks)


def _addr_pattern(address: str) -> str:
    """A regex matching `address` as the last entry of $upstream_addr, which nginx writes with the IP, not the name."""
    host, port = address.rsplit(":", 1)
    ip = socket.gethostbyname(host)
    return f"~(^|\\s){re.escape(ip)}:{port}$"


def render(addresses: list[str], listen: str, workdir: Path, logdir: Path, upload_mb: int | None = None) -> str:
    """The nginx.conf text proxying `listen` (a port or address:port) to the Streamlit replicas at `addresses`."""
    if not addresses:
        raise ValueError("addresses must name at least one replica (host:port), got none")
    names = replica_names(len(addresses))
    upload_mb = max_upload_mb() if upload_mb is None else upload_mb
    cookie = f"{COOKIE}={{}}; Path=/; HttpOnly; SameSite=Lax"
    fills = {
        "workdir": str(workdir),
        "logdir": str(logdir),
        "cookie": COOKIE,
        "pin_map": "\n".join(f"        {n} {n};" for n in names),
        "cookie_map": "\n".join(
            f'        "{_addr_pattern(a)}" "{cookie.format(n)}";' for a, n in zip(addresses, names, strict=True)
        ),
        "upstreams": upstreams(addresses),
        "listen": listen,
        "max_body": f"{upload_mb * 1024 + ENVELOPE_KB}k",
    }
    return fill(TEMPLATE, fills)
