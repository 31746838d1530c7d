"""A real RFC 3161 time-stamping authority on 127.0.0.1, made with ``openssl ts``.

Tests and the demo need a TSA they control; this one speaks the same HTTP protocol as a
public TSA (POST ``application/timestamp-query``), and signs with a CA and TSA certificate
it makes once per folder.  ``LocalTSA(folder).start()`` returns the URL to put in
``settings.tsa_urls``; ``ca_file`` is what ``openssl ts -verify -CAfile`` needs.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from evidence.loopback import Endpoint, serve
from store.errors import ServiceUnavailable

CONFIG = """\
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.crt
certs = $dir/ca.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256

[ tsa_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
"""


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise ServiceUnavailable("evidence.openssl_failed", command=args[0],
                                 detail=proc.stderr.decode()[-300:])


class LocalTSA:
    """An ``openssl ts`` TSA served over HTTP on 127.0.0.1 (a random free port)."""

    def __init__(self, folder: Path, *, name: str = "spotcheck local TSA") -> None:
        if shutil.which("openssl") is None:
            raise ServiceUnavailable("evidence.openssl_missing")
        self.folder = Path(folder).resolve()  # openssl runs with this as its cwd
        self.name = name
        self._served: ExitStack | None = None
        self._base = ""
        self._lock = threading.Lock()

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def config_file(self) -> Path:
        return self.folder / "tsa.cnf"

    def ensure_keys(self) -> None:
        """Make the CA, the TSA certificate and the config, once per folder."""
        f = self.folder
        f.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(CONFIG.format(dir=f.resolve()))
        if (f / "tsa.crt").exists():
            return
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
                 "-keyout", "ca.key", "-out", "ca.crt", "-subj", f"/CN={self.name} Root CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=f)
        _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout",
                 "tsa.key", "-out", "tsa.csr", "-subj", f"/CN={self.name}", cwd=f)
        _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-sha256", "-days", "825", "-extfile", "tsa.cnf",
                 "-extensions", "tsa_ext", "-out", "tsa.crt", cwd=f)
        (f / "tsaserial").write_text("01\n")

    def reply(self, query: bytes) -> bytes:
        """Run ``openssl ts -reply`` on one DER query (one at a time: the serial file)."""
        with self._lock, tempfile.TemporaryDirectory() as tmp:
            q, r = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
            q.write_bytes(query)
            proc = subprocess.run(["openssl", "ts", "-reply", "-config", str(self.config_file),
                                   "-queryfile", str(q), "-out", str(r)],
                                  cwd=self.folder, capture_output=True, timeout=30)
            if proc.returncode != 0 or not r.exists():
                raise ValueError(proc.stderr.decode()[-300:])
            return r.read_bytes()

    def start(self) -> str:
        """Start serving; returns the TSA URL."""
        self.ensure_keys()
        tsa = self

        class Handler(Endpoint):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if self.headers.get("Content-Type") != "application/timestamp-query" or \
                        not 0 < length < 65536:
                    self.send_error(400, "expected application/timestamp-query")
                    return
                try:
                    body = tsa.reply(self.rfile.read(length))
                except (ValueError, subprocess.SubprocessError):
                    self.send_error(500, "openssl ts -reply failed")
                    return
                self.reply(body, "application/timestamp-reply")

        self._served = ExitStack()
        self._base = self._served.enter_context(serve(Handler, "local-tsa"))
        return self.url

    @property
    def url(self) -> str:
        if self._served is None:
            raise RuntimeError("the local TSA is not started")
        return f"{self._base}/tsa"

    def stop(self) -> None:
        if self._served is not None:
            self._served.close()
            self._served = None

    def __enter__(self) -> LocalTSA:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
