"""The CLI's contract with scripts and people: help on every command and option, no type
noise beside flags, and the README's exit codes for the common mistakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

from spotcheck.cli import build_app, main, quiet_flags


def _walk(command: Any, path: str = "spotcheck") -> list[tuple[str, Any]]:
    out = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        out.extend(_walk(sub, f"{path} {name}"))
    return out


def test_every_command_and_option_says_what_it_does() -> None:
    missing: list[str] = []
    for path, command in _walk(typer.main.get_command(build_app())):
        if not (command.help or "").strip() and not (command.short_help or "").strip():
            missing.append(path)
        for param in command.params:
            if getattr(param, "param_type_name", "") == "option" and not (param.help or "").strip():
                missing.append(f"{path} {param.opts[0]}")
    assert missing == []
    from spotcheck.helptext import help_texts

    # Typer shows reStructuredText markup as it is: ``--pdf`` reads as two backquotes.
    assert [t for t in help_texts(typer.main.get_command(build_app())) if "``" in t] == []


def test_flags_show_no_type(capsys: pytest.CaptureFixture[str]) -> None:
    command = typer.main.get_command(build_app("plan"))
    quiet_flags(command)
    with pytest.raises(SystemExit):
        main(["plan", "approve", "--help"])
    shown = capsys.readouterr().out
    assert "--json" in shown and "<bool>" not in shown
    with pytest.raises(SystemExit):
        main(["capture", "--help"])
    shown = capsys.readouterr().out
    # a single command advertises no subcommands (in either language)
    assert "COMMAND [ARGS]" not in shown and "命令 [参数]" not in shown


def _exit(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return int(info.value.code or 0)


def test_database_mistakes_are_configuration_errors(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no" / "such" / "folder"
    assert _exit(["--db", f"sqlite:///{missing}/x.db", "plan", "list"]) == 2
    assert "不存在" in capsys.readouterr().err
    assert not missing.parent.exists()  # a typo creates nothing, so it cannot look like data
    assert _exit(["--db", "mysql://root@127.0.0.1/test", "plan", "list"]) == 2
    assert "不支持" in capsys.readouterr().err
    assert _exit(["--db", "nonsense", "plan", "list"]) == 2
    assert _exit(["--db", "postgresql+psycopg://root@127.0.0.1:1/test", "plan", "list"]) == 6


def test_a_data_folder_typo_is_a_configuration_error(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A data folder whose parent is missing is a typo, not a new installation: exit 2 and
    nothing made; a new data folder in an existing folder is made on first use."""
    typo = tmp_path / "no" / "such" / "home"
    assert _exit(["--home", str(typo), "plan", "list"]) == 2
    assert "不存在" in capsys.readouterr().err and not typo.parent.exists()
    assert _exit(["--home", str(tmp_path / "home"), "plan", "list", "--json"]) == 0
    assert (tmp_path / "home").is_dir()


def test_missing_input_files_are_not_found(settings: Any,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit(["signals", "import", "/nonexistent/notices.json", "--format", "cpsc"]) == 3
    assert _exit(["sample", "/nonexistent/frame.csv", "--size", "x", "--n", "3",
                  "--seed", "1"]) == 3


def test_doctor_checks_fonts_key_and_tsa_and_exits_6(settings: Any, monkeypatch: Any,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from tests.conftest import free_port

    monkeypatch.setenv("SPOTCHECK_TSA_URLS", f"http://127.0.0.1:{free_port()}/tsa")
    assert _exit(["--home", str(settings.home), "doctor", "--json"]) == 6
    report = json.loads(capsys.readouterr().out)
    checks = {c["check"].split(" ")[0]: c for c in report["checks"]}
    assert report["ok"] is False and checks["TSA"]["ok"] is False
    assert checks["CJK"]["ok"] is True  # ./dev installs fonts-noto-cjk
    assert checks["signing"]["ok"] is True and "Ed25519" in checks["signing"]["detail"]


def test_doctor_checks_the_trust_anchors_in_the_keys_folder(settings: Any,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    """A TSA root in keys/trusted-tsa/ (where the demo puts its own) is checked like one
    named by the setting: one that does not load is broken (exit 6), as verification fails."""
    import json

    folder = settings.keys_dir / "trusted-tsa"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n")
    assert _exit(["--home", str(settings.home), "doctor", "--json"]) == 6
    checks = json.loads(capsys.readouterr().out)["checks"]
    [anchor] = [c for c in checks if c["check"].startswith("trusted TSA CA")]
    assert anchor["check"].endswith("broken.pem") and anchor["ok"] is False


def test_verify_names_a_caller_mistake_not_tampering(settings: Any, tmp_path: Path) -> None:
    assert _exit(["--home", str(settings.home), "evidence", "verify",
                  str(tmp_path / "absent.zip")]) == 3
    not_zip = tmp_path / "pack.zip"
    not_zip.write_text("this is not a zip file")
    assert _exit(["--home", str(settings.home), "evidence", "verify", str(not_zip)]) == 2


def test_an_unreachable_feed_is_a_service_unavailable(settings: Any, monkeypatch: Any,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A refused connection and an unknown host are both exit 6 (neither a bug nor bad input)."""
    from tests.conftest import free_port

    monkeypatch.setenv("SPOTCHECK_SIGNALS_CPSC_URL", f"http://127.0.0.1:{free_port()}/recalls")
    assert _exit(["--home", str(settings.home), "signals", "fetch", "cpsc", "--no-match"]) == 6
    assert "Connection refused" in capsys.readouterr().err
    monkeypatch.setenv("SPOTCHECK_SIGNALS_CPSC_URL", "http://no-such-host.invalid/recalls")
    assert _exit(["--home", str(settings.home), "signals", "fetch", "cpsc", "--no-match"]) == 6


def test_wrong_files_and_missing_things_are_not_tampering(settings: Any, tmp_path: Path) -> None:
    """plan verify on a file that is no bundle is 2 and on a missing file 3 (5 is kept for a
    registration that fails a check); a missing capture, a missing mapping file are 3; a
    folder given as a pack is 2."""
    home = ["--home", str(settings.home)]
    not_bundle = tmp_path / "bundle.json"
    not_bundle.write_text("this is not JSON")
    assert _exit([*home, "plan", "verify", str(not_bundle)]) == 2
    not_bundle.write_text('{"format": "something else"}')
    assert _exit([*home, "plan", "verify", str(not_bundle)]) == 2
    assert _exit([*home, "plan", "verify", str(tmp_path / "absent.json")]) == 3
    assert _exit([*home, "evidence", "show", "99999"]) == 3
    frame = tmp_path / "complaints.csv"
    frame.write_text("a,b\n1,2\n", encoding="utf-8")
    assert _exit([*home, "signals", "import", str(frame), "--format", "complaints",
                  "--mapping", str(tmp_path / "absent.toml")]) == 3
    assert _exit([*home, "evidence", "verify", str(tmp_path)]) == 2


def test_reads_follow_the_console_s_role_matrix(sqlite_db: Any, settings: Any,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A --user label naming a user whose role the console refuses a read is refused the
    same read here (exit 4): an investigator reads no plan or purchase, a sampler no case
    and no half-year report.  Without a label (or with one naming nobody) a read stays open."""
    from spotcheck import users

    users.add_user(sqlite_db, "ian", "investigator", "ian-password-2026", actor="t")
    users.add_user(sqlite_db, "sam", "sampler", "sam-password-2026", actor="t")
    home = ["--home", str(settings.home)]
    assert _exit([*home, "--user", "ian", "plan", "show", "1"]) == 4
    assert "调查员" in capsys.readouterr().err
    assert _exit([*home, "--user", "ian", "purchase", "list"]) == 4
    assert _exit([*home, "--user", "ian", "persona", "list"]) == 4
    assert _exit([*home, "--user", "sam", "case", "list"]) == 4
    assert _exit([*home, "--user", "sam", "evidence", "show", "1"]) == 4
    assert _exit([*home, "--user", "sam", "report", "half-year", "2026H2", "-f", "json"]) == 4
    assert _exit([*home, "--user", "ian", "case", "list"]) == 0
    assert _exit([*home, "--user", "sam", "purchase", "list"]) == 0
    assert _exit([*home, "purchase", "list"]) == 0
    assert _exit([*home, "--user", "nobody.known", "case", "list"]) == 0
