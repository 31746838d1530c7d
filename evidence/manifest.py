"""A capture's files, its manifest (every file's SHA-256), signature and timestamps.

The manifest is what the installation's Ed25519 key signs and every configured RFC 3161
authority stamps; packs and ``verify`` check files against it without the database.
"""

from __future__ import annotations

from typing import Any

from evidence.hashing import pretty_json, sha256_bytes
from evidence.keys import load_or_create
from evidence.tsa import timestamp_each
from store.settings import Settings

#: Artifact roles → (file name, media type).
MEDIA = {
    "screenshot_full": ("screenshot-full.png", "image/png"),
    "screenshot_viewport": ("screenshot-viewport.png", "image/png"),
    "screenshot_before_overlays": ("screenshot-before-overlays.png", "image/png"),
    "screenshot_after_overlays": ("screenshot-after-overlays.png", "image/png"),
    "dom": ("dom.html", "text/html; charset=utf-8"),
    "pdf": ("page.pdf", "application/pdf"),
    "warc": ("capture.warc.gz", "application/warc"),
    "meta": ("meta.json", "application/json"),
    "provenance": ("provenance.html", "text/html; charset=utf-8"),
    "tls_chain": ("tls-chain.pem", "application/x-pem-file"),
    "manifest": ("manifest.json", "application/json"),
}


def build_manifest(files: dict[str, bytes], meta: dict[str, Any],
                   key_fingerprint: str) -> dict[str, Any]:
    """The capture manifest: what was captured, when, by whom, and every file's hash."""
    return {
        "format": "spotcheck-capture-manifest/1",
        "uuid": meta["uuid"], "kind": meta["kind"], "requested_url": meta["requested_url"],
        "final_url": meta.get("final_url"), "started_at": meta["started_at"],
        "finished_at": meta.get("finished_at"), "operator": meta["operator"],
        "status": meta.get("status_of_capture", "ok"),
        "key_fingerprint": key_fingerprint,
        "artifacts": [{"role": role, "name": MEDIA[role][0], "media_type": MEDIA[role][1],
                       "sha256": sha256_bytes(data), "size": len(data)}
                      for role, data in sorted(files.items())],
    }


def sign_and_timestamp(files: dict[str, bytes], meta: dict[str, Any],
                       settings: Settings) -> tuple[str, list[bytes]]:
    """Add the manifest to *files*; its signature and TSA tokens (blocking: a thread).

    Each TSA is retried; one that stays down costs its token, not the capture: the failure
    is recorded in ``meta["tsa_failures"]`` (the database row's metadata) and the capture
    is kept with the tokens obtained."""
    key = load_or_create(settings.keys_dir)
    manifest = pretty_json(build_manifest(files, meta, key.fingerprint))
    files["manifest"] = manifest
    signature = key.sign(manifest)
    tokens, failures = timestamp_each(manifest, settings.tsa_urls)
    if failures:
        meta["tsa_failures"] = [f.__dict__ for f in failures]
    return signature, [t.response for t in tokens]
