"""Semantic comparison of cell outputs: what counts as "the same result".

Normalises memory addresses, timestamps, durations, temp paths and progress bars; compares
numbers within a tolerance; compares images by their pixel size only; ignores stderr (warning
text depends on library versions) and compares errors by exception type.
"""

from __future__ import annotations

import base64
import re
import struct
from typing import Any

__all__ = ["normalise_text", "same_outputs", "signature"]

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_TIME = re.compile(r"\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b")
_DURATION = re.compile(r"\b\d+(\.\d+)?\s?(ns|µs|us|ms|s|sec|secs|seconds|min|mins|minutes|h|hours)\b")
_TIMING_LINE = re.compile(r"^(CPU times|Wall time|\d+(\.\d+)? .?s ± ).*$", re.M)
_PROGRESS = re.compile(r"(\d+%\|)|(\bit/s\])|(\bs/it\])|(\[\d+:\d+<)|(━━)")
_TMP = re.compile(r"/tmp/[\w.-]+")
_HTML_TAG = re.compile(r"<[^>]+>")
_INTEGER = re.compile(r"[-+]?\d+")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def normalise_text(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        line = line.rsplit("\r", 1)[-1]
        if _PROGRESS.search(line):
            continue
        lines.append(line.rstrip())
    text = "\n".join(lines)
    text = _TIMING_LINE.sub("<timing>", text)
    text = _ADDRESS.sub("0x…", text)
    text = _DATETIME.sub("<datetime>", text)
    text = _DATE.sub("<date>", text)
    text = _TIME.sub("<time>", text)
    text = _DURATION.sub("<duration>", text)
    text = _TMP.sub("<tmp>", text)
    return text.strip()


def _image_size(mime: str, data: Any) -> tuple[int, int] | None:
    try:
        raw = base64.b64decode("".join(data) if isinstance(data, list) else str(data))
    except (ValueError, TypeError):
        return None
    if mime == "image/png" and raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) >= 24:
        width, height = struct.unpack(">II", raw[16:24])
        return width, height
    if mime == "image/jpeg":
        i = 2
        while i + 9 < len(raw):
            if raw[i] != 0xFF:
                i += 1
                continue
            marker = raw[i + 1]
            length = struct.unpack(">H", raw[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", raw[i + 5 : i + 9])
                return width, height
            i += 2 + length
    return None


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def signature(outputs: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """A comparable summary of a cell's outputs."""
    items: list[tuple[str, Any]] = []
    stdout: list[str] = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            if output.get("name") == "stdout":
                stdout.append(_text(output.get("text", "")))
            continue
        if kind == "error":
            items.append(("error", output.get("ename")))
            continue
        data = output.get("data") or {}
        if not isinstance(data, dict):
            continue
        image = next((m for m in ("image/png", "image/jpeg") if m in data), None)
        if image is not None:
            items.append(("image", _image_size(image, data[image])))
        elif "text/plain" in data:
            items.append(("text", normalise_text(_text(data["text/plain"]))))
        elif "text/html" in data:
            items.append(("text", normalise_text(_HTML_TAG.sub(" ", _text(data["text/html"])))))
        elif data:
            items.append(("mime", sorted(data)))
    if stdout:
        items.insert(0, ("stdout", normalise_text("".join(stdout))))
    return items


def _same_text(a: str, b: str, rtol: float, atol: float) -> bool:
    if a == b:
        return True
    if _NUMBER.sub("#", a) != _NUMBER.sub("#", b):
        return False
    for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b), strict=True):
        if _INTEGER.fullmatch(x) and _INTEGER.fullmatch(y):
            if int(x) != int(y):  # counts and ids have no rounding noise: 1000000 vs 1000050 rows is a change
                return False
            continue
        fx, fy = float(x), float(y)
        if abs(fx - fy) > atol + rtol * abs(fy):
            return False
    return True


def same_outputs(a: list[dict[str, Any]], b: list[dict[str, Any]], *, rtol: float = 1e-4, atol: float = 1e-9) -> tuple[bool, str | None]:
    """Whether two cells' outputs match semantically, and the first difference if not."""
    sa, sb = signature(a), signature(b)
    if len(sa) != len(sb):
        return False, f"{len(sa)} output(s) vs {len(sb)}"
    for (ka, va), (kb, vb) in zip(sa, sb, strict=True):
        if ka != kb:
            return False, f"{ka} output vs {kb} output"
        if ka in {"text", "stdout"}:
            if not _same_text(va, vb, rtol, atol):
                return False, f"{_first_line_diff(va, vb)}"
        elif va != vb:
            return False, f"{ka} {va} vs {vb}"
    return True, None


def _first_line_diff(a: str, b: str) -> str:
    for la, lb in zip(a.split("\n"), b.split("\n"), strict=False):
        if la != lb:
            return f"{la[:80]!r} vs {lb[:80]!r}"
    return "different number of lines"
