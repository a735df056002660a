"""Fetching dataset files: each is downloaded to a temporary file beside its destination,
its md5 checked against the published one, and only then renamed into place."""
from __future__ import annotations

import hashlib
import os
import tempfile

CHUNK_BYTES = 1 << 20


def file_md5(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(urls: list[str], destination: str, md5: str, timeout: float = 60.0) -> str:
    """Download the first of `urls` that answers with the expected content to
    `destination`; returns the URL used.

    The file is written to a temporary name in the destination's folder, its md5 is
    compared with `md5`, and it is renamed to `destination` only if they match, so a
    failed or corrupted download never leaves a file that looks complete. URLs are tried
    in order (mirrors); if none gives the right file, RuntimeError lists what each did.
    """
    import urllib.request  # imported here: only a download needs it

    folder = os.path.dirname(os.path.abspath(destination))
    os.makedirs(folder, exist_ok=True)
    failures = []
    for url in urls:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".download-", suffix=".part")
        try:
            digest = hashlib.md5(usedforsecurity=False)
            with os.fdopen(handle, "wb") as out, \
                    urllib.request.urlopen(url, timeout=timeout) as response:
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != md5:
                failures.append(f"{url}: checksum mismatch (md5 {digest.hexdigest()}, "
                                f"expected {md5})")
                continue
            os.replace(temporary, destination)
            return url
        except OSError as exc:          # URLError, HTTPError and timeouts are OSErrors
            failures.append(f"{url}: {exc}")
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    raise RuntimeError(f"could not download {os.path.basename(destination)}; tried:\n  "
                       + "\n  ".join(failures))
