"""A PostgreSQL server that answers every connection with one FATAL error, as a real one does
while it starts up ("the database system is starting up"), shuts down, or has no free slot.

It speaks the real wire protocol (the driver's SSL request, the startup message, an
ErrorResponse), so the driver and SQLAlchemy raise exactly what they raise against PostgreSQL.
"""

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104


def _error_response(sqlstate: str, message: str) -> bytes:
    fields = b"".join(
        kind + value.encode() + b"\0"
        for kind, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


@contextlib.asynccontextmanager
async def refusing_postgres(sqlstate: str, message: str) -> AsyncIterator[int]:
    """Serve on a free local port (yielded) until the block ends; count nothing, keep nothing."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                (length,) = struct.unpack("!i", await reader.readexactly(4))
                request = await reader.readexactly(length - 4)
                if struct.unpack("!i", request[:4])[0] in (_SSL_REQUEST, _GSS_REQUEST):
                    writer.write(b"N")  # no encryption: the startup message follows in clear
                    continue
                break
            writer.write(_error_response(sqlstate, message))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
