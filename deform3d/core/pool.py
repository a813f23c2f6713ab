"""A pool of local worker processes that a Ctrl-C ends cleanly.

Owns: ``local_pool``, where a sweep's stacks train (``core.sweeps``). Imports only the standard
library.
"""

from __future__ import annotations

from contextlib import contextmanager


def _ignore_interrupt():
    # Ctrl-C reaches the whole process group: only the parent handles it (it ends the pool), so the
    # workers print no tracebacks of their own.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def local_pool(processes: int):
    """A pool of ``processes`` fresh Python processes, ended at once if the caller is interrupted.

    spawn, not fork: a forked child would inherit this process's torch threads and GL context.
    """
    import multiprocessing

    pool = multiprocessing.get_context("spawn").Pool(processes, initializer=_ignore_interrupt)
    try:
        yield pool
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
