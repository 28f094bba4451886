"""Joining a Ray cluster, or starting Ray on this machine: what `batch`, `tune` and Ray Train share.

Usage:

    ray = connect(None)             # a local Ray with every CPU of this machine
    ray = connect("10.0.0.5:6379")  # a cluster's head (`ray start --head`); nothing there is one clear error
    ...
    ray.shutdown()

DIGITLAB_* variables set here are passed to every worker (the models folder,
the runtime), so a job reads with the same settings on every node.
"""

from __future__ import annotations

import logging
import os
import socket

from digitlab.errors import UserError

# The object store of a local Ray started here: what crosses it (paths, results, small arrays) is small.
LOCAL_OBJECT_STORE_BYTES = 512 * 1024**2
# Seconds to wait for a cluster's address to answer before saying that nothing does.
PROBE_TIMEOUT_SECONDS = 10


def _check_reachable(address: str) -> None:
    """One clear sentence when nothing listens at a HOST:PORT address (ray.init would retry for minutes)."""
    host, _, port = address.rpartition(":")
    if "://" in address or not port.isdigit():  # "auto", or a ray:// client address: Ray resolves those itself
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_SECONDS).close()
    except OSError as error:
        raise UserError(f"could not join the Ray cluster at {address}: nothing answers there "
                        f"({error.strerror or type(error).__name__}); start it with `ray start --head`, "
                        "or leave out --ray-address to start a local Ray.") from None


def local_cpus() -> int:
    """The CPUs a local Ray started by connect(None) has: every CPU of this machine."""
    return os.cpu_count() or 1


def connect(address: str | None):
    """Ray, joined to the cluster at `address` (HOST:PORT, or "auto") or started here; ray.shutdown() after."""
    import ray  # heavy: Ray comes with digitlab[ray]
    import ray.data  # (importing it sets up Ray Data's loggers, so their level is set after)

    logging.getLogger("ray.data").setLevel(logging.ERROR)
    logging.getLogger("ray.tune").setLevel(logging.ERROR)

    environment = {name: value for name, value in os.environ.items() if name.startswith("DIGITLAB_")}
    # Ray's own INFO and WARNING lines (the token it made, the bars it hides) are not the user's business here.
    settings = {"runtime_env": {"env_vars": environment}, "log_to_driver": False, "logging_level": logging.ERROR,
                "include_dashboard": False}
    if address:
        _check_reachable(address)
        settings["address"] = address
    else:
        settings.update(object_store_memory=LOCAL_OBJECT_STORE_BYTES, num_cpus=local_cpus())
    try:
        ray.init(**settings)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise UserError(f"could not {'join the Ray cluster at ' + address if address else 'start a local Ray'}: "
                        f"{str(error).splitlines()[0] if str(error) else type(error).__name__}") from None
    return ray
