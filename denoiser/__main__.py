"""`python -m denoiser ...`: see `denoiser.cli`."""

import os
import sys

from .cli import main
from .distributed import launched

status = main()
if launched() > 1:
    # A torchrun worker whose run is over leaves without the interpreter's teardown: gloo's threads, torn down
    # there, now and then abort the process (SIGABRT, "terminate called without an active exception") and turn
    # a finished run into a failed one. Nothing is in flight: every process of a finished run has passed
    # Ranks.finish, and a failed run's collectives have failed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
sys.exit(status)
