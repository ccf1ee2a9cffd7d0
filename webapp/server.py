"""Serve the app to visitors, ready only once warm: the server's start-up first, then Streamlit's server.

    python -m webapp.server [streamlit run's options]      # e.g. --server.port 8501 --server.headless true

Streamlit runs `app.py` only when a visitor comes, so with a plain `streamlit run app.py` the first
visitor's page waits seconds for torch's import, the models, the warm-up and the training worker's fork
while the health check already answers "ok". Here all of that is done before Streamlit's server opens
its port: the health check (and a load balancer's first request) answers only when a page is quick.
The start-up is `webapp.startup.prepare`, the cached calls every page run makes, so the first page
finds them done. `streamlit run app.py` on its own keeps working, cold.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: list[str] | None = None) -> None:
    started = time.monotonic()
    from webapp import startup  # not webapp.page: its drawing canvas registers only inside a running server

    # The cached start-up runs outside a page run here, which Streamlit warns of once per call: expected.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    startup.prepare()
    print(f"webapp.server: warm in {time.monotonic() - started:.1f} s; starting Streamlit's server", flush=True)
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
