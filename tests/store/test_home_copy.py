"""A data folder copied while this process holds its database open (tests.conftest.copy_home).

A plain file copy of an open SQLite database drops this process's POSIX locks on it; another
process then deletes the WAL the open connections still write to, and their later commits
are lost to every other reader.  The copy goes through SQLite's backup API instead.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from store.db import Database
from store.models import Role, User
from store.settings import Settings
from tests.conftest import copy_home

COUNT = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
         "print(c.execute('select count(*) from user_account').fetchone()[0]); c.close()")


def _users_seen_by_another_process(db_file: Path) -> int:
    proc = subprocess.run([sys.executable, "-c", COUNT, str(db_file)], capture_output=True,
                          text=True, check=True)
    return int(proc.stdout)


def test_writes_after_copying_an_open_home_reach_other_processes(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", db="")
    settings.ensure_home()
    (settings.keys_dir / "k.pem").write_text("key")
    db = Database.open(settings.database_url, settings=settings)
    try:
        with db.session() as s:
            s.add(User(name="before", role=Role.SAMPLER))
        copy_home(settings.home, tmp_path / "copy")
        assert _users_seen_by_another_process(tmp_path / "copy" / "spotcheck.db") == 1
        assert (tmp_path / "copy" / "keys" / "k.pem").read_text() == "key"
        # another process opens and closes the original (as a CLI call does), then this
        # process writes through the connections it kept open
        assert _users_seen_by_another_process(settings.home / "spotcheck.db") == 1
        with db.session() as s:
            s.add(User(name="after", role=Role.SAMPLER))
        assert _users_seen_by_another_process(settings.home / "spotcheck.db") == 2
    finally:
        db.dispose()
