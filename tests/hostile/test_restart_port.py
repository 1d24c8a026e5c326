"""After a kill -9 the service's port is in TIME_WAIT; `nb2prod serve` must still see it as free."""

from __future__ import annotations

import socket

from nb2prod.package.serving import port_free


def test_a_port_whose_connections_sit_in_time_wait_is_free_to_serve_again() -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection enters TIME_WAIT
    client.close()
    server.close()  # the server is gone (as after kill -9); only TIME_WAIT remains on the port
    with socket.socket() as plain:
        try:
            plain.bind(("127.0.0.1", port))
            time_wait_blocks_a_plain_bind = False
        except OSError:
            time_wait_blocks_a_plain_bind = True
    assert time_wait_blocks_a_plain_bind  # the situation the check must handle
    assert port_free("127.0.0.1", port)


def test_a_port_with_a_listener_is_not_free() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert not port_free("127.0.0.1", server.getsockname()[1])
