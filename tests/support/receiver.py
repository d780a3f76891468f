"""A webhook receiver for tests: a real HTTP/1.1 server on 127.0.0.1, in the test's event loop.

Each request is recorded; the answer comes from `answers` in turn (the last one repeats), so a
test scripts a receiver that fails twice and then succeeds, hangs, redirects, streams 50 MB...
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0
    """Seconds to wait before answering (a hanging receiver: longer than the timeout)."""
    stream_bytes: int = 0
    """Send this many bytes of body after `body`, in 64 KiB chunks (a huge answer)."""


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers) or [Answer()]
        self.received: list[Received] = []
        self.sent: list[int] = []
        """Bytes of each answer's body that went out before the client stopped reading."""
        self._server: asyncio.Server | None = None
        self.port = 0
        self._arrived = asyncio.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def answer_with(self, *answers: Answer) -> None:
        self.answers = list(answers)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def wait_for(self, count: int, within: float = 15.0) -> list[Received]:
        """Wait until at least `count` requests arrived; return them all."""
        async with asyncio.timeout(within):
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.received) >= count)
        return self.received

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            answer = self.answers[min(len(self.received), len(self.answers) - 1)]
            async with self._arrived:
                self.received.append(Received(method, path, headers, body))
                self._arrived.notify_all()
            if answer.delay:
                await asyncio.sleep(answer.delay)
            length = len(answer.body) + answer.stream_bytes
            response_head = [f"HTTP/1.1 {answer.status} X", f"Content-Length: {length}"]
            response_head += [f"{k}: {v}" for k, v in answer.headers.items()]
            response_head.append("Connection: close")
            writer.write(("\r\n".join(response_head) + "\r\n\r\n").encode() + answer.body)
            chunk = b"x" * 65536
            sent = 0
            try:
                while sent < answer.stream_bytes:
                    writer.write(chunk[: answer.stream_bytes - sent])
                    await writer.drain()
                    sent += len(chunk)
                await writer.drain()
            finally:
                self.sent.append(len(answer.body) + min(sent, answer.stream_bytes))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def receiving(*answers: Answer) -> AsyncIterator[Receiver]:
    receiver = Receiver(*answers)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()
