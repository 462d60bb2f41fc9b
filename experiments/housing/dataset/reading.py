"""From a file to the text of ``cal_housing.data``: plain, gzipped or inside a tar archive,
detected by content; a missing file or a directory gets a message fitted to where the name
came from."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zlib
from pathlib import Path

from .schema import (
    ALTERNATIVES,
    ENV_VAR,
    SKLEARN_SOURCE,
    HousingDataError,
    HousingDataNotFoundError,
)

# The member scikit-learn reads from its cal_housing.tgz download.
_TGZ_MEMBER = "CaliforniaHousing/cal_housing.data"

# File names a user is likely to have; used to suggest a file when given a directory.
_KNOWN_FILE_NAMES = ("cal_housing.data.gz", "cal_housing.data", "cal_housing.tgz")


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_exists(file_path: Path, how: str) -> None:
    """A missing file gets a message fitted to where its name came from."""
    if file_path.exists():
        return
    if how == "path argument":
        fix = (
            f"Check the path, or leave it out to use the copy shipped with the project (or "
            f"{ENV_VAR} if set), or give {SKLEARN_SOURCE!r} for scikit-learn's downloader"
        )
    elif how.startswith("environment variable"):
        fix = (
            f"Correct {ENV_VAR}, or unset it to use the copy shipped with the project, or "
            f"pass --data PATH"
        )
    else:
        fix = (
            "The project is incomplete (checkout or install without package data?): restore "
            f"experiments/housing/data/, or pass --data PATH or set {ENV_VAR} to a copy, or "
            f"use --data {SKLEARN_SOURCE}"
        )
    raise HousingDataNotFoundError(
        f"housing data file not found: {file_path} (from the {how}) does not exist. {fix}."
    )


def read_text(file_path: Path, source: str) -> str:
    """Return the text of ``cal_housing.data`` from a plain, gzipped or tar(.gz) file."""
    if file_path.is_dir():
        candidates = [name for name in _KNOWN_FILE_NAMES if (file_path / name).is_file()]
        hint = f" Did you mean {file_path / candidates[0]}?" if candidates else ""
        raise HousingDataError(f"{source} is a directory, expected the data file itself.{hint}")
    try:
        payload = file_path.read_bytes()
    except OSError as exc:
        raise HousingDataError(f"cannot read {source}: {exc}") from exc

    # Decide by magic bytes, not by extension: a renamed file must still work.
    if payload[:2] == b"\x1f\x8b":
        payload = _gunzip(payload, source)
    if payload[:4] == b"PK\x03\x04":
        raise HousingDataError(
            f"{source} is a zip archive, which is not supported (StatLib's houses.zip has a "
            f"different layout); {ALTERNATIVES}"
        )
    # A tar archive has "ustar" at offset 257 (POSIX and GNU formats alike).
    if payload[257:262] == b"ustar":
        payload = _extract_tar_member(payload, source)
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HousingDataError(
            f"{source} is not a text file (byte {exc.start} is not valid UTF-8); expected "
            "comma-separated numbers, a .gz of them or cal_housing.tgz"
        ) from exc


def _gunzip(payload: bytes, source: str) -> bytes:
    """Decompress gzip data, turning truncation and corruption into clear errors."""
    try:
        return gzip.decompress(payload)
    except EOFError as exc:
        raise HousingDataError(
            f"{source} is a truncated gzip file (the compressed stream ends early); "
            f"download or copy it again. ({exc})"
        ) from exc
    except (OSError, zlib.error) as exc:
        raise HousingDataError(f"{source} starts like gzip but is corrupt: {exc}") from exc


def _extract_tar_member(payload: bytes, source: str) -> bytes:
    """Return ``CaliforniaHousing/cal_housing.data`` from a tar archive held in memory."""
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:") as archive:
            members = {name.removeprefix("./"): name for name in archive.getnames()}
            if _TGZ_MEMBER not in members:
                shown = ", ".join(sorted(members)[:10]) or "(no members)"
                raise HousingDataError(
                    f"{source} is a tar archive without the member {_TGZ_MEMBER!r} that "
                    f"scikit-learn's cal_housing.tgz contains; found: {shown}. {ALTERNATIVES}"
                )
            member = archive.extractfile(members[_TGZ_MEMBER])
            if member is None:  # e.g. the name exists but is a directory
                raise HousingDataError(f"{_TGZ_MEMBER!r} in {source} is not a regular file")
            return member.read()
    except tarfile.TarError as exc:
        raise HousingDataError(f"{source} is a damaged tar archive: {exc}") from exc
