"""The baseline: a bare ASGI app that answers every request with the same bytes as a product.

It runs under the same server with the same flags as Agora, so the ratio of Agora's requests/s
to this one's is the cost of Agora itself on this machine.
"""

import os
from pathlib import Path
from typing import Any

_BODY = Path(os.environ["AGORA_BENCH_BODY"]).read_bytes()
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_BODY)).encode()),
    ],
}
_RESPONSE = {"type": "http.response.body", "body": _BODY}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send(_START)
    await send(_RESPONSE)
