"""Serve the app to visitors, ready only once warm: the server's start-up first, then Streamlit's server.

    python -m webapp.server [streamlit run's options]      # e.g. --server.port 8501 --server.headless true
    python -m webapp.server scripts/pages/floor.py [options]  # another page, served the same way, not warmed

Streamlit runs `app.py` only when a visitor comes, so with a plain `streamlit run app.py` the first
visitor's page waits seconds for torch's import, the models, the warm-up and the training worker's fork
while the health check already answers "ok". Here all of that is done before Streamlit's server opens
its port: the health check (and a load balancer's first request) answers only when a page is quick.
The start-up is `webapp.startup.prepare`, the cached calls every page run makes, so the first page
finds them done. The server does not poll its config files (`streamlit_patch.skip_config_watchers`).
`streamlit run app.py` on its own keeps working, cold.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    page = args.pop(0) if args and args[0].endswith(".py") else str(APP)
    if Path(page).resolve() == APP:
        warm_up()
    from streamlit.web import cli

    from webapp import streamlit_patch

    streamlit_patch.skip_config_watchers()
    sys.argv = ["streamlit", "run", page, *args]
    cli.main()


def warm_up() -> None:
    """The app's start-up, before the server opens its port."""
    started = time.monotonic()
    from webapp import startup  # not webapp.page: its drawing canvas registers only inside a running server

    # The cached start-up runs outside a page run here, which Streamlit warns of once per call: expected.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    startup.prepare()
    print(f"webapp.server: warm in {time.monotonic() - started:.1f} s; starting Streamlit's server", flush=True)


if __name__ == "__main__":
    main()
