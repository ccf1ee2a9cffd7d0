"""A visitor of the app without a browser: it speaks Streamlit's own websocket protocol.

Used by scripts/loadgen.py (many visitors at once) and by tests that drive the app through a proxy.
Like the browser's frontend, a visitor first GETs the page (keeping its cookies: a load balancer may
pin it to one replica with a cookie), opens ws://HOST/_stcore/stream (subprotocol "streamlit") with
those cookies, and sends a BackMsg `rerun_script` carrying the URL's query string and the state of
EVERY widget on its page, as the frontend does, with only the moved widget changed. It receives
ForwardMsgs: `new_session` when a run starts, deltas (elements, blocks) and `script_finished`; it
fetches each new /media/ URL its page's images reference, as a browser loads the <img>.

Streamlit 1.67 caches large elements in the client: the client lists the hashes it holds in
`cached_message_hashes` and the server sends a `ref_hash` in their place. A visitor keeps the same
cache (dropping what went unused for `max_cached_message_age` runs, as the frontend does).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect

from scripts.page import Page, is_failure, widget_key

DONE, QUEUED, RUNNING = "Your session uses a retrained", "in the queue", "Epoch"
FAILURE_TEXTS = ("try again", "failed")
FINISHED = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
HTTP_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="visitor-http")  # urllib blocks


class VisitorError(RuntimeError):
    """A step that failed: no connection, a run that did not finish in time, an HTTP error."""


@dataclass
class Run:
    """One script run as this visitor saw it."""

    index: int
    started: float  # perf_counter() at its new_session
    finished: float | None = None
    status: int | None = None  # ForwardMsg.ScriptFinishedStatus
    exceptions: list[str] = field(default_factory=list)
    media: list[asyncio.Task] = field(default_factory=list)
    fragments: tuple[str, ...] = ()  # a rerun of these fragments only (st.fragment); () for the whole page


@dataclass
class Training:
    """How a retraining went: outcome "trained" or "failed", and its phases in seconds."""

    outcome: str
    queue_wait: float | None = None  # press -> first "Epoch" progress
    duration: float | None = None  # first "Epoch" -> done
    pressed_at: float = 0.0  # perf_counter()
    ended_at: float = 0.0
    detail: str = ""


class Visitor:
    """One visitor's page: `open()`, `move(value)`, `open_tab(label)`, `set_widget`, `retrain()`, `close()`."""

    def __init__(self, url: str, step_timeout: float = 60.0) -> None:
        self.url, self.step_timeout = url.rstrip("/"), step_timeout
        self.cookies = http.cookiejar.CookieJar()
        self._http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._changed = asyncio.Event()  # set on every message: waits re-check their condition
        self.page = Page()
        self.runs: list[Run] = []
        self.query_string, self.page_hash, self.closed_reason = "", "", ""
        self.received = 0  # messages from the server, all told
        self._cache: dict[str, tuple[ForwardMsg, int]] = {}  # hash -> (message, run index of last use)
        self._max_age, self._seen_media, self._run_media = 2, set(), set()
        self.media_errors: list[str] = []

    # --- HTTP, with this visitor's cookies -------------------------------------------------------

    def _get_blocking(self, path: str) -> bytes:
        with self._http.open(self.url + path, timeout=self.step_timeout) as response:
            return response.read()

    async def get(self, path: str) -> bytes:
        """GET `path` with this visitor's cookies (kept from every answer); VisitorError on failure."""
        try:
            return await asyncio.get_running_loop().run_in_executor(HTTP_POOL, self._get_blocking, path)
        except OSError as err:
            raise VisitorError(f"GET {path}: {err}") from err

    def _cookie_header(self) -> str:
        request = urllib.request.Request(self.url + "/_stcore/stream")
        self.cookies.add_cookie_header(request)
        return request.get_header("Cookie") or ""

    # --- connection and reruns -------------------------------------------------------------------

    async def open(self, query_string: str = "") -> Run:
        """Load the page: GET it, connect the websocket, request the first run and wait until it finished."""
        await self.get("/")
        await self.get("/_stcore/host-config")
        ws_url = "ws" + self.url.removeprefix("http") + "/_stcore/stream"
        headers = {"Cookie": self._cookie_header()} if self._cookie_header() else {}
        try:
            self._ws = await connect(ws_url, subprotocols=["streamlit"], origin=self.url, additional_headers=headers,
                                     max_size=None, open_timeout=self.step_timeout)  # fmt: skip
        except Exception as err:  # refused, timed out, rejected handshake: all a failed connection
            raise VisitorError(f"websocket {ws_url}: {err!r}") from err
        self._reader = asyncio.create_task(self._read())
        self.query_string = query_string
        return await self.rerun()

    async def close(self) -> None:
        """Close the websocket, as closing the tab does."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()

    async def rerun(self, triggers: tuple[str, ...] = (), wait: bool = True, fragment: str = "") -> Run:
        """Send a rerun with every widget's state (plus `triggers`, widget keys pressed); wait for its end.
        A widget drawn by a fragment reruns only that `fragment`, as the frontend asks."""
        msg = BackMsg()
        client = msg.rerun_script
        client.query_string, client.page_script_hash = self.query_string, self.page_hash
        client.fragment_id = fragment
        client.widget_states.widgets.extend(self.page.states.values())
        for key in triggers:
            client.widget_states.widgets.add(id=self.widget_id(key), trigger_value=True)
        client.cached_message_hashes.extend(self._cache)
        client.context_info.timezone, client.context_info.locale = "UTC", "en-US"
        client.context_info.url = f"{self.url}/?{self.query_string}"
        started_after = len(self.runs)
        await self._send(msg)
        return await self.wait_run(started_after) if wait else Run(-1, time.perf_counter())

    async def _send(self, msg: BackMsg) -> None:
        if self._ws is None or self.closed_reason:
            raise VisitorError(f"not connected ({self.closed_reason or 'never opened'})")
        try:
            await self._ws.send(msg.SerializeToString())
        except Exception as err:
            raise VisitorError(f"send: {err!r}") from err

    async def wait_for(self, condition: Callable[[], object], timeout: float, what: str) -> object:
        """Wait until `condition()` is truthy (checked after every message); VisitorError on timeout or close."""
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            if self.closed_reason:
                raise VisitorError(f"connection closed while waiting for {what}: {self.closed_reason}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise VisitorError(f"no {what} within {timeout:.0f} s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return result

    async def wait_run(self, started_after: int, timeout: float | None = None) -> Run:
        """The first run started after `started_after` runs that finished completely, its media loaded."""

        def finished() -> Run | None:
            done = [r for r in self.runs[started_after:] if r.status in FINISHED]
            return done[0] if done else None

        run = await self.wait_for(finished, timeout or self.step_timeout, "finished run")
        await asyncio.gather(*run.media)  # the page is shown once its images have loaded
        if run.exceptions:
            raise VisitorError(f"the run ended with an exception: {run.exceptions[0][:300]}")
        return run

    # --- the page --------------------------------------------------------------------------------

    def widget_id(self, key: str) -> str:
        """The id of the widget whose user key is `key` on the current page."""
        try:
            return self.page.widget_id(key)
        except KeyError as err:
            raise VisitorError(str(err)) from err

    def metric(self, label_part: str) -> str | None:
        """The value of the page's first metric whose label contains `label_part`."""
        return self.page.metric(label_part)

    def set_state(self, key: str, **value) -> None:
        """Change widget `key`'s state without a rerun."""
        self.widget_id(key)
        self.page.set_state(key, **value)

    async def set_widget(self, key: str, **value) -> Run:
        """Change a widget and wait for the rerun, as the browser does on every change."""
        self.set_state(key, **value)
        return await self.rerun(fragment=self.page.fragment_of(key))

    async def move(self, level: float) -> Run:
        """Move the noise-level slider to `level` and wait for the page to be redrawn."""
        return await self.set_widget("noise_level", double_array_value={"data": [level]})

    def slider_positions(self, key: str) -> list[float]:
        """The values slider `key` on the current page can take (its minimum to its maximum, by its step)."""
        sliders = [e.slider for e in self.page.elements("slider") if widget_key(e.slider.id) == key]
        if not sliders:
            raise VisitorError(f"no slider {key!r} on the page")
        low, high, step = sliders[0].min, sliders[0].max, sliders[0].step
        return [round(low + i * step, 10) for i in range(round((high - low) / step) + 1)]

    async def open_tab(self, label: str) -> Run:
        """Open the tab `label`: the option of the segmented control keyed "view"."""
        return await self.set_widget("view", string_array_value={"data": [label]})

    # --- a retraining ----------------------------------------------------------------------------

    def _training_state(self, after_run: int) -> str | None:
        """What the page drawn by runs after `after_run` says of a training: trained, failed, running, queued."""
        shown, texts = self.page.elements(after_run=after_run), self.page.texts(after_run)
        if any(DONE in t for t in texts):
            return "trained"
        if any(f in t.lower() for t in texts for f in FAILURE_TEXTS) or any(map(is_failure, shown)):
            return "failed"
        if any(e.WhichOneof("type") == "progress" and e.progress.text.startswith(RUNNING) for e in shown):
            return "running"
        return "queued" if any(QUEUED in t for t in texts) else None

    async def retrain(self, timeout: float, epochs: int | None = None, digits: int | None = None,
                      on_start: Callable[[], None] = lambda: None) -> Training:  # fmt: skip
        """Open the Retrain tab, set its epochs and digits (if given), press Retrain and wait until done.

        `on_start` is called once: when the training starts running, or when it ended without running."""
        training = Training("failed", pressed_at=time.perf_counter())
        try:
            await self._set_up_training(epochs, digits)
            after, training.pressed_at = len(self.runs), time.perf_counter()
            await self.rerun(triggers=("retrain",), wait=False, fragment=self.page.fragment_of("retrain"))
            await self._follow_training(training, after, timeout, on_start)
        except VisitorError as err:
            training.detail = str(err)
        if training.queue_wait is None:
            on_start()  # a training that never ran must not hold the other visitors back
        training.ended_at = time.perf_counter()
        if training.outcome == "failed" and not training.detail:
            training.detail = " / ".join(self.page.texts()[-3:])[:300]
        return training

    async def _set_up_training(self, epochs: int | None, digits: int | None) -> None:
        """Open the Retrain tab and set its epochs and training digits, one rerun per change as in a browser."""
        await self.open_tab("Retrain")
        if epochs is not None:
            await self.set_widget("retrain_epochs", int_value=epochs)
        if digits is not None:
            offered = [
                e.slider.options for e in self.page.elements("slider") if widget_key(e.slider.id) == "retrain_digits"
            ]
            if offered and str(digits) not in offered[0]:
                raise VisitorError(f"train digits must be one of {list(offered[0])}, got {digits}")
            await self.set_widget("retrain_digits", string_array_value={"data": [str(digits)]})

    async def _follow_training(self, training: Training, after: int, timeout: float, on_start: Callable) -> None:
        """Wait for the first "Epoch" progress, then for the end; fill in `training`."""
        state = lambda: self._training_state(after)  # noqa: E731
        await self.wait_for(lambda: state() in ("running", "trained", "failed"), timeout, "training start")
        first_epoch = time.perf_counter()
        training.queue_wait = first_epoch - training.pressed_at
        on_start()
        left = timeout - training.queue_wait
        outcome = await self.wait_for(lambda: state() in ("trained", "failed") and state(), left, "end of training")
        training.outcome, training.duration = str(outcome), time.perf_counter() - first_epoch
        if outcome == "trained":
            await self.wait_run(after)  # the page is complete again: the next move will not interrupt a run

    # --- receiving -------------------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self.received += 1
                self._handle(msg)
                self._changed.set()
        except Exception as err:  # the reader must record why it stopped, whatever it was
            self.closed_reason = repr(err)
        self.closed_reason = self.closed_reason or "closed by the server"
        self._changed.set()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            cached = self._cache.get(msg.ref_hash)
            if cached is None:
                self.closed_reason = f"the server referred to a message not cached: {msg.ref_hash}"
                return
            self._cache[msg.ref_hash] = (cached[0], len(self.runs))
            body = ForwardMsg()
            body.CopyFrom(cached[0])
            body.metadata.CopyFrom(msg.metadata)
            msg, kind = body, body.WhichOneof("type")
        elif msg.metadata.cacheable and msg.hash:
            self._cache[msg.hash] = (msg, len(self.runs))
        if kind == "new_session":
            self._new_run(msg)
        elif kind == "delta":
            self._delta(msg)
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "script_finished" and self.runs:
            self._finish_run(msg.script_finished)
        elif kind == "session_event" and msg.session_event.WhichOneof("type") == "script_compilation_exception":
            self.runs[-1].exceptions.append(msg.session_event.script_compilation_exception.message)

    def _new_run(self, msg: ForwardMsg) -> None:
        session = msg.new_session
        self.page_hash = session.page_script_hash
        self._max_age = session.config.max_cached_message_age or self._max_age
        self.runs.append(Run(len(self.runs) + 1, time.perf_counter(), fragments=tuple(msg.metadata.run.fragment_ids)))
        self._run_media = set()

    def _finish_run(self, status: int) -> None:
        run = self.runs[-1]
        run.status, run.finished = status, time.perf_counter()
        if status not in FINISHED:
            return
        # As the frontend does after a complete run: drop what this run did not draw, and old cache entries.
        self.page.keep_only(run.index, run.fragments)
        self._cache = {h: v for h, v in self._cache.items() if run.index - v[1] < self._max_age}
        self._seen_media = self._seen_media | self._run_media if run.fragments else self._run_media

    def _delta(self, msg: ForwardMsg) -> None:
        delta, path = msg.delta, tuple(msg.metadata.delta_path)
        run = self.runs[-1].index if self.runs else 0
        if delta.WhichOneof("type") == "add_block":
            self.page.draw_block(path, run, delta.add_block, delta.fragment_id)
        elif delta.WhichOneof("type") == "new_element":
            element = delta.new_element
            self.page.draw_element(path, run, element, delta.fragment_id)
            if element.WhichOneof("type") == "exception" and self.runs:
                self.runs[-1].exceptions.append(f"{element.exception.type}: {element.exception.message}")
            for img in element.imgs.imgs if element.WhichOneof("type") == "imgs" else ():
                self._fetch_media(img.url)

    def _fetch_media(self, url: str) -> None:
        """Load an image as the browser does: once per URL, unless the previous page already showed it."""
        if not url.startswith("/media/") or url in self._run_media:
            return
        self._run_media.add(url)
        if url not in self._seen_media and self.runs:
            self.runs[-1].media.append(asyncio.create_task(self._media(url)))

    async def _media(self, url: str) -> None:
        """Load one image; a failure is kept in `media_errors` (the run still counts as drawn)."""
        try:
            await self.get(url)
        except VisitorError as err:
            self.media_errors.append(str(err))
