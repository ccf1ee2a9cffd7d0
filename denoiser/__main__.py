"""`python -m denoiser ...`: see `denoiser.cli`."""

import sys

from .cli import main

sys.exit(main())
