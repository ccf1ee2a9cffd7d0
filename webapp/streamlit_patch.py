"""A page that reconnects to a new session keeps answering its fragment's widgets (a patch of Streamlit).

What happens without it, written as a report upstream would read:

    Streamlit 1.67.0, an app whose widgets live in an `@st.fragment`. The server goes away while the
    page is open (a replica behind a load balancer is killed, or the server restarts); the browser
    reconnects to another server and gets a new session. Moving a widget inside the fragment then
    does nothing, for ever: the browser sends a rerun of that fragment only (`BackMsg.rerun_script`
    with `client_state.fragment_id` set), and `AppSession.request_rerun` drops a rerun of a fragment
    its session does not hold ("The fragment with id ... does not exist anymore", logged at INFO).
    Only a run of the whole page registers the fragment, and nothing asks for one. Expected: a rerun
    of an unknown fragment runs the whole page with the same widget values.

`apply` wraps `AppSession.request_rerun` to do what is expected. It depends on a private method, so it
checks that the hook it needs is there and says loudly in the server's log when it is not, or when
Streamlit is not the version it was written against (then the failover test tells whether it holds).

`skip_config_watchers`, applied by `webapp.server` before Streamlit's server starts, leaves out the
polling of config.toml: Streamlit 1.67 re-reads and hashes every config.toml path (the project's,
the user's, even one that does not exist) five times a second, whatever `server.fileWatcherType`
says. An idle server spent ~9 ms of CPU a second on it (three quarters of its idle time), which a
visitor's slider moves paid for too. A hosted server's configuration does not change while it runs.
"""

from __future__ import annotations

import functools
import logging

import streamlit

WRITTEN_FOR = "1.67.0"  # the Streamlit version this patch was written and tested against
LOG = logging.getLogger("webapp.streamlit_patch")


def apply() -> bool:
    """Patch `AppSession.request_rerun` once per process; False (and an error in the log) if it cannot be."""
    from streamlit.runtime.app_session import AppSession

    original = getattr(AppSession, "request_rerun", None)
    if original is None or not hasattr(AppSession, "has_fragment"):
        LOG.error("Streamlit %s has no AppSession.request_rerun/has_fragment: a page that reconnects to a new "
                  "session will not answer its slider until reloaded (patch written for %s)",
                  streamlit.__version__, WRITTEN_FOR)  # fmt: skip
        return False
    if getattr(original, "runs_whole_page", False):  # applied already
        return True
    if streamlit.__version__ != WRITTEN_FOR:
        LOG.warning("webapp.streamlit_patch was written for Streamlit %s; this is %s: check that a reconnected "
                    "page still answers (tests/test_deploy.py)", WRITTEN_FOR, streamlit.__version__)  # fmt: skip
    AppSession.request_rerun = _whole_page_for_unknown_fragments(original)
    return True


def _whole_page_for_unknown_fragments(original):
    """`original` (AppSession.request_rerun), with a rerun of a fragment the session lacks made a whole-page run."""

    @functools.wraps(original)
    def request_rerun(session, client_state=None) -> None:
        if client_state is not None and client_state.fragment_id and not session.has_fragment(client_state.fragment_id):
            whole_page = type(client_state)()
            whole_page.CopyFrom(client_state)
            whole_page.ClearField("fragment_id")
            client_state = whole_page
        original(session, client_state)

    request_rerun.runs_whole_page = True
    return request_rerun


def skip_config_watchers() -> bool:
    """Have Streamlit's server start without polling its config files; False (logged) if the hook is gone."""
    from streamlit.web import bootstrap

    if not callable(getattr(bootstrap, "_install_config_watchers", None)):
        LOG.warning("Streamlit %s has no bootstrap._install_config_watchers: its config files are polled as it "
                    "does (patch written for %s)", streamlit.__version__, WRITTEN_FOR)  # fmt: skip
        return False
    bootstrap._install_config_watchers = lambda flag_options: None
    return True
