"""The X server's own pixels, read through Xlib with ctypes (no screenshot tool needed).

Used by the window tests (``screen_pixels``) and by ``benchmarks/window.py``, which reads a panel
many times a second to time a mouse move to the screen (``Screen``, one connection kept open).
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np


class _XImage(ctypes.Structure):
    _fields_ = [("width", ctypes.c_int), ("height", ctypes.c_int), ("xoffset", ctypes.c_int),
                ("format", ctypes.c_int), ("data", ctypes.c_void_p), ("byte_order", ctypes.c_int),
                ("bitmap_unit", ctypes.c_int), ("bitmap_bit_order", ctypes.c_int), ("bitmap_pad", ctypes.c_int),
                ("depth", ctypes.c_int), ("bytes_per_line", ctypes.c_int), ("bits_per_pixel", ctypes.c_int)]


class Screen:
    """A connection to X display ``display``; ``pixels(rect)`` reads what it shows in a rectangle."""

    def __init__(self, display: str):
        x11 = self.x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")  # xdotool's own dependency
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XDefaultRootWindow.restype = ctypes.c_ulong
        x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x11.XGetImage.restype = ctypes.POINTER(_XImage)
        x11.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint,
                                  ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
        x11.XFree.argtypes = [ctypes.c_void_p]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.dpy = x11.XOpenDisplay(display.encode())
        assert self.dpy, f"cannot open {display}"
        self.root = x11.XDefaultRootWindow(self.dpy)

    def pixels(self, rect) -> np.ndarray:
        """What the X server shows in rect [x, y, w, h] of the screen: (h, w, 3) uint8 RGB."""
        x, y, w, h = rect
        image = self.x11.XGetImage(self.dpy, self.root, x, y, w, h, 0xFFFFFFFF, 2).contents  # ZPixmap
        assert image.bits_per_pixel == 32, f"{image.bits_per_pixel} bits per pixel"
        raw = ctypes.string_at(image.data, image.bytes_per_line * image.height)
        pixels = np.frombuffer(raw, np.uint8).reshape(h, image.bytes_per_line // 4, 4)[:, :w, [2, 1, 0]].copy()
        self.x11.XFree(image.data)  # (the struct itself is freed with the display)
        return pixels

    def close(self) -> None:
        self.x11.XCloseDisplay(self.dpy)


def screen_pixels(display: str, rect) -> np.ndarray:
    """What the X server ``display`` shows in rect [x, y, w, h] of the screen: (h, w, 3) uint8 RGB."""
    screen = Screen(display)
    try:
        return screen.pixels(rect)
    finally:
        screen.close()
