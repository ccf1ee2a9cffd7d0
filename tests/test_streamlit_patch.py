"""The patch that makes a reconnected page's fragment reruns whole-page runs: it works, and says when it cannot."""

from __future__ import annotations

import logging

import pytest
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.runtime.app_session import AppSession

from webapp import streamlit_patch


class Session:
    """Just what the patched method asks of a session: which fragments it holds."""

    def __init__(self, fragments: set[str]) -> None:
        self.fragments = fragments

    def has_fragment(self, fragment_id: str) -> bool:
        return fragment_id in self.fragments


@pytest.fixture
def asked(monkeypatch) -> list:
    """The client states that reach Streamlit's own request_rerun once the patch is applied."""
    seen = []
    monkeypatch.setattr(AppSession, "request_rerun", lambda session, client_state=None: seen.append(client_state))
    assert streamlit_patch.apply()
    return seen


def test_a_rerun_of_a_fragment_the_session_lacks_runs_the_whole_page_with_the_same_widgets(asked):
    state = ClientState(fragment_id="results", query_string="level=0.3")
    AppSession.request_rerun(Session(set()), state)
    assert asked[0].fragment_id == "" and asked[0].query_string == "level=0.3"
    assert state.fragment_id == "results"  # the browser's message is not changed in place


def test_a_rerun_of_a_fragment_the_session_holds_stays_a_fragment_rerun(asked):
    AppSession.request_rerun(Session({"results"}), ClientState(fragment_id="results"))
    AppSession.request_rerun(Session(set()), None)
    assert asked[0].fragment_id == "results" and asked[1] is None


def test_applied_twice_it_wraps_once(asked):
    assert streamlit_patch.apply()
    AppSession.request_rerun(Session(set()), ClientState(fragment_id="results"))
    assert len(asked) == 1


def test_a_streamlit_without_the_hook_is_reported_in_the_log_and_left_alone(monkeypatch, caplog):
    monkeypatch.delattr(AppSession, "has_fragment")
    before = AppSession.request_rerun
    with caplog.at_level(logging.ERROR, logger="webapp.streamlit_patch"):
        assert not streamlit_patch.apply()
    assert AppSession.request_rerun is before
    assert "will not answer its slider" in caplog.text


def test_another_streamlit_version_is_named_in_the_log(monkeypatch, caplog):
    monkeypatch.setattr(AppSession, "request_rerun", lambda session, client_state=None: None)
    monkeypatch.setattr(streamlit_patch.streamlit, "__version__", "9.9.9")
    with caplog.at_level(logging.WARNING, logger="webapp.streamlit_patch"):
        assert streamlit_patch.apply()
    assert "9.9.9" in caplog.text and streamlit_patch.WRITTEN_FOR in caplog.text


def test_a_server_started_by_webapp_server_polls_no_config_file(monkeypatch):
    from streamlit.web import bootstrap

    watched = []
    monkeypatch.setattr(bootstrap, "_install_config_watchers", bootstrap._install_config_watchers)  # restored after
    monkeypatch.setattr(bootstrap, "watch_file", lambda path, *args, **kwargs: watched.append(path))
    bootstrap._install_config_watchers({})
    assert watched  # Streamlit's own: every config.toml path, polled five times a second
    watched.clear()
    assert streamlit_patch.skip_config_watchers()
    bootstrap._install_config_watchers({})
    assert watched == []


def test_without_the_config_watcher_hook_the_server_says_so_and_starts_as_streamlit_does(monkeypatch, caplog):
    from streamlit.web import bootstrap

    monkeypatch.delattr(bootstrap, "_install_config_watchers")
    with caplog.at_level(logging.WARNING, logger="webapp.streamlit_patch"):
        assert not streamlit_patch.skip_config_watchers()
    assert "polled" in caplog.text
