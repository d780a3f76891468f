"""Serve an app for the benchmark: `python -m bench.serve MODULE:ATTR PORT [--factory]`.

Both Agora and the baseline run through here, with Agora's own uvicorn options (uvloop and
its bounded httptools protocol), one worker: the same server and the same flags.
"""

import sys

import uvicorn

from agora.cli import uvicorn_options
from agora.settings import Settings


def main() -> None:
    target, port = sys.argv[1], int(sys.argv[2])
    options = uvicorn_options(Settings(), port=port, workers=1, loop="uvloop")
    uvicorn.run(target, factory="--factory" in sys.argv, **options)


if __name__ == "__main__":
    main()
