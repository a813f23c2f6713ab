"""A real JupyterLab driven by a real headless Chromium over the DevTools protocol (CDP).

Used by tests/test_browser.py and benchmarks/viewer_drag.py. ``missing()`` names what is not
installed (Debian's ``chromium``, jupyterlab, websocket-client) so callers can skip with the reason.
JupyterLab runs with its default settings (widget messages over kernel subshells included) on
127.0.0.1 with a token, in a folder of its own; Chromium gets a fresh profile and no network but
that server. The app object is exposed to the page (``window.jupyterapp``) so the test runs
JupyterLab's own commands ("Run All" is ``notebook:run-all-cells``, as the menu item runs).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--mute-audio", "--hide-scrollbars"]


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def missing() -> str | None:
    """Why the browser test cannot run here (None: it can)."""
    if chromium() is None:
        return "no chromium (Debian: apt-get install chromium)"
    for module, package in (("jupyterlab", "jupyterlab"), ("websocket", "websocket-client")):
        try:
            __import__(module)
        except ImportError:
            return f"no {package} (pip install -e '.[test]')"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, what: str, interval: float = 0.25):
    """Poll ``check()`` until it returns something truthy; fail naming ``what`` after ``timeout`` s."""
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class CDP:
    """A minimal DevTools client: ``call(method, **params)``, ``eval(js)``; events are kept in order."""

    def __init__(self, ws_url: str):
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=120, suppress_origin=True)
        self._id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def eval(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(f"JavaScript failed: {details.get('exception', {}).get('description') or details}")
        return result["result"].get("value")

    def screenshot(self, path: Path, clip: dict | None = None) -> bytes:
        params = {"format": "png", "captureBeyondViewport": clip is None}
        if clip is not None:
            params["clip"] = {**clip, "scale": 1}
        data = base64.b64decode(self.call("Page.captureScreenshot", **params)["data"])
        Path(path).write_bytes(data)
        return data

    def mouse(self, kind: str, x: float, y: float, buttons: int = 1) -> None:
        self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", buttons=buttons,
                  clickCount=1 if kind != "mouseMoved" else 0)

    def close(self) -> None:
        self.ws.close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server's kernels go too
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def jupyterlab(folder: Path, env: dict | None = None, settings: dict | None = None):
    """A JupyterLab server on 127.0.0.1 serving ``folder``: yields its base URL with ``?token=``.

    ``settings``: user settings ({"@jupyterlab/apputils-extension:kernels-settings": {key: value}}),
    for measurements against non-default settings only; the test runs with none. Its log is in
    ``folder/.lab.log``.
    """
    port, token = free_port(), secrets.token_hex(16)
    home = Path(tempfile.mkdtemp(prefix="deform3d-lab-"))
    environ = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    # A configuration of its own: the user's settings, workspaces and servers stay out of it.
    environ.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
                   PYTHONUNBUFFERED="1", **(env or {}))
    # Lab asks once whether to fetch news; the toast would cover the notebook in screenshots.
    settings = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}, **(settings or {})}
    for plugin, values in settings.items():
        package, name = plugin.split(":")
        file = home / "settings" / package / f"{name}.jupyterlab-settings"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(values))
    log = open(folder / ".lab.log", "wb")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}", "--LabApp.expose_app_in_browser=True",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           *(["--allow-root"] if os.geteuid() == 0 else [])]  # CI runs as root
    proc = subprocess.Popen(cmd, cwd=folder, env=environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def up():
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {proc.returncode}: see {folder / '.lab.log'}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_for(up, 90, "JupyterLab to answer")
        yield base, token
    finally:
        _stop(proc)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def headless_chromium(width: int = 1280, height: int = 1400):
    """Debian's Chromium, headless, with a fresh profile: yields a CDP client on a blank page."""
    profile = Path(tempfile.mkdtemp(prefix="deform3d-chromium-"))
    proc = subprocess.Popen([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                             f"--window-size={width},{height}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    cdp = None
    try:
        active = profile / "DevToolsActivePort"
        port = int(wait_for(lambda: active.exists() and active.read_text().split("\n")[0], 60,
                            "Chromium's DevTools port"))

        def page():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2) as r:
                    pages = [t for t in json.load(r) if t["type"] == "page"]
            except OSError:
                return None
            return pages[0]["webSocketDebuggerUrl"] if pages else None

        cdp = CDP(wait_for(page, 30, "Chromium's page"))
        for domain in ("Page", "Runtime"):
            cdp.call(f"{domain}.enable")
        cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        yield cdp
    finally:
        if cdp is not None:
            cdp.close()
        _stop(proc)
        shutil.rmtree(profile, ignore_errors=True)


# ---------------------------------------------------------------- JupyterLab in the page

# The notebook panel under test (the app's current widget follows focus, which a headless page lacks).
NOTEBOOK_JS = "window.__notebook"


def open_notebook(cdp: CDP, base: str, token: str, name: str) -> None:
    """Open ``name`` in Lab's single-document view and wait for its kernel to be ready."""
    cdp.call("Page.navigate", url=f"{base}/lab/tree/{name}?token={token}&reset")
    find = (f"(() => {{ if (!window.jupyterapp) return false;"
            f" const nb = [...jupyterapp.shell.widgets('main')].find(w => w.context && w.context.path === {json.dumps(name)});"
            f" if (!nb || !nb.content) return false; {NOTEBOOK_JS} = nb; jupyterapp.shell.activateById(nb.id); return true; }})()")
    wait_for(lambda: cdp.eval(find), 90, f"JupyterLab to open {name}")
    cdp.eval(f"{NOTEBOOK_JS}.sessionContext.ready.then(() => true)")
    wait_for(lambda: cdp.eval(f"!!{NOTEBOOK_JS}.sessionContext.session?.kernel"), 60, "the kernel")


def run_all(cdp: CDP, timeout: float) -> float:
    """Run All (JupyterLab's own command) and wait until every code cell ran; returns seconds."""
    start = time.monotonic()
    cdp.eval(f"jupyterapp.shell.activateById({NOTEBOOK_JS}.id); jupyterapp.commands.execute('notebook:run-all-cells')")
    done = (f"(() => {{ const nb = {NOTEBOOK_JS}; const cells = nb.content.widgets.filter(c => c.model.type === 'code');"
            f" return nb.sessionContext.session.kernel.status === 'idle' && cells.length > 0"
            f" && cells.every(c => c.model.executionCount !== null); }})()")
    wait_for(lambda: cdp.eval(done), timeout, "Run All to finish", interval=0.5)
    return time.monotonic() - start


def outputs(cdp: CDP) -> list[dict]:
    """Every code cell's outputs as nbformat JSON, in order."""
    return cdp.eval(f"{NOTEBOOK_JS}.content.widgets.filter(c => c.model.type === 'code')"
                    f".map(c => c.model.outputs.toJSON())")


def rect(cdp: CDP, selector: str) -> dict:
    """The page box of the first element matching ``selector``, scrolled into view first."""
    box = cdp.eval(f"""(() => {{ const el = document.querySelector({json.dumps(selector)});
        if (!el) return null; el.scrollIntoView({{block: 'center'}});
        const r = el.getBoundingClientRect(); return {{x: r.x, y: r.y, width: r.width, height: r.height}}; }})()""")
    if box is None:
        raise AssertionError(f"nothing on the page matches {selector}")
    return box


def pixels(cdp: CDP, selector: str, scale: int = 2) -> "np.ndarray":
    """What the <img> matching ``selector`` shows, drawn into a canvas at 1/``scale`` of its size: (H, W, 3) uint8."""
    import numpy as np

    w, h, data = cdp.eval(f"""(() => {{ const img = document.querySelector({json.dumps(selector)});
        const c = document.createElement('canvas');
        c.width = Math.max(1, Math.round(img.clientWidth / {scale})); c.height = Math.max(1, Math.round(img.clientHeight / {scale}));
        const g = c.getContext('2d'); g.drawImage(img, 0, 0, c.width, c.height);
        return [c.width, c.height, Array.from(g.getImageData(0, 0, c.width, c.height).data)]; }})()""")
    return np.array(data, np.uint8).reshape(h, w, 4)[..., :3]


def count_frames(cdp: CDP, selector: str) -> None:
    """Start counting the frames the Viewer shows (its <img> gets a new src for each)."""
    cdp.eval(f"""(() => {{ const img = document.querySelector({json.dumps(selector)});
        window.__frames = [];
        new MutationObserver(() => window.__frames.push(performance.now()))
            .observe(img, {{attributes: true, attributeFilter: ['src']}}); return true; }})()""")


def drag(cdp: CDP, box: dict, dx: float, dy: float, seconds: float, moves: int = 60, midway=None) -> tuple[float, int]:
    """A left-button drag across the middle of ``box``: ``moves`` steps over ``seconds``.

    ``midway``: called halfway through, the button still down (e.g. to take a screenshot).
    Returns (seconds the drag took, frames shown from the press until the release).
    """
    x0, y0 = box["x"] + box["width"] / 2 - dx / 2, box["y"] + box["height"] / 2 - dy / 2
    cdp.eval("window.__frames = []; true")
    start = time.monotonic()
    cdp.mouse("mousePressed", x0, y0)
    for i in range(1, moves + 1):
        cdp.mouse("mouseMoved", x0 + dx * i / moves, y0 + dy * i / moves)
        if midway is not None and i == moves // 2:
            midway()
        time.sleep(max(0.0, start + seconds * i / moves - time.monotonic()))
    cdp.mouse("mouseReleased", x0 + dx, y0 + dy, buttons=0)
    took = time.monotonic() - start
    return took, cdp.eval("window.__frames.length")
