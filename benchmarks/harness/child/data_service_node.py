"""One tf.data service node in a process of its own:

    python -m loadbench.harness.child.data_service_node dispatcher PORT_FILE
    python -m loadbench.harness.child.data_service_node worker DISPATCHER_ADDRESS PORT_FILE

It listens on a free port, writes that port to PORT_FILE once it serves, and runs until
it is killed; it dies with the process that started it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from loadbench.harness.procs import die_with_parent


def main(argv: list[str]) -> None:
    die_with_parent()
    import tensorflow as tf

    from loadbench.loaders.files import atomic_write

    service = tf.data.experimental.service
    role, port_file = argv[0], Path(argv[-1])
    if role == "dispatcher":
        server = service.DispatchServer(service.DispatcherConfig(port=0))
        port = server.target.rsplit(":", 1)[1]
    else:
        config = service.WorkerConfig(
            dispatcher_address=argv[1], worker_address="localhost:%port%", port=0
        )
        server = service.WorkerServer(config)
        port = server._address.rsplit(":", 1)[1]  # no public accessor in TF 2.21
    atomic_write(port_file, port)
    server.join()


if __name__ == "__main__":
    main(sys.argv[1:])
