"""The CLI's help in zh-CN: every command's and option's help text has its Chinese
(spotcheck/help.zh-CN.json), and a reader of zh-CN sees it with Typer's words in Chinese;
a reader of en sees the English of the code."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from spotcheck import helptext
from spotcheck.cli import build_app
from tests.clirun import spotcheck

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _tree() -> object:
    return typer.main.get_command(build_app())


def test_every_help_text_has_its_chinese() -> None:
    texts = set(helptext.help_texts(_tree()))
    assert len(texts) > 300  # the walk finds the tree (a broken walk would find nothing)
    assert sorted(texts - set(helptext.catalogue())) == []


def test_the_catalogue_holds_no_text_the_cli_no_longer_has() -> None:
    """A help text changed in the code leaves its old entry behind: it must go (and the
    new text be translated), so the catalogue says what the CLI says."""
    assert sorted(set(helptext.catalogue()) - set(helptext.help_texts(_tree()))) == []


def test_the_chinese_is_chinese_unless_the_text_is_only_codes() -> None:
    copied = [en for en, zh in helptext.catalogue().items()
              if not _CJK.search(zh) and _CJK.search(en) is None
              and re.search(r"[a-z]{3,} [a-z]{3,}", en)]  # a sentence, not "csv | jsonl"
    assert copied == []


def _help(argv: list[str], locale: str, home: Path) -> str:
    env = {"SPOTCHECK_HOME": str(home), "SPOTCHECK_CONFIG": str(home / "none.toml"),
           "SPOTCHECK_LOCALE": locale}
    ran = spotcheck(*argv, "--help", env=env, unset=("SPOTCHECK_DB",))
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def test_help_reads_in_the_reader_s_language(tmp_path: Path) -> None:
    zh = _help(["purchase", "result"], "zh-CN", tmp_path)
    assert "用法：spotcheck purchase result" in zh and "选项" in zh and "参数" in zh
    assert "登记检测结果" in zh and "显示本帮助并退出。" in zh
    assert "pass（合格）| fail（不合格）" in zh
    assert "<整数>" in zh and "<文件>" in zh and "<文本，可重复>" in zh and "<int>" not in zh
    assert "Options" not in zh and "Show this message" not in zh
    en = _help(["purchase", "result"], "en", tmp_path)
    assert "Usage: spotcheck purchase result" in en and "Options" in en
    assert "Record the lab result" in en and "登记检测结果" not in en
    assert "<int>" in en


def test_chinese_help_folds_long_sentences_instead_of_cutting_them(tmp_path: Path) -> None:
    """A Chinese sentence has no spaces to wrap at: it folds at the column's edge, and no
    help text ends in "…" with its words lost."""
    from spotcheck.helptext import catalogue

    env = {"SPOTCHECK_HOME": str(tmp_path), "SPOTCHECK_CONFIG": str(tmp_path / "none.toml"),
           "SPOTCHECK_LOCALE": "zh-CN", "COLUMNS": "100"}
    for argv in (["login"], ["plan"], ["evidence", "verify"]):
        ran = spotcheck(*argv, "--help", env=env, unset=("SPOTCHECK_DB",))
        assert ran.returncode == 0 and "…" not in ran.stdout, ran.stdout
    shown = "".join(ch for ch in ran.stdout if ch not in "│ \n")
    tail = catalogue()["Also trust time-stamps issued under this CA certificate (PEM); "
                       "repeatable. By default only SPOTCHECK_TRUSTED_TSA_CAS and "
                       "keys/trusted-tsa/ are trusted."][-8:].replace(" ", "")
    assert tail in shown


def test_every_upper_case_metavar_has_its_chinese() -> None:
    """A placeholder a reader fills in (``--trust-key FILE|FINGERPRINT``) or reads on the
    usage line (``[OPTIONS]``, ``COMMAND [ARGS]...``) is a word of the help too: each
    upper-case word of every metavar in the tree has its Chinese."""
    words: set[str] = set()

    def walk(command: object) -> None:
        for attr in ("options_metavar", "subcommand_metavar"):
            words.update(re.findall(r"\b[A-Z][A-Z_]+\b", getattr(command, attr, None) or ""))
        for param in getattr(command, "params", ()):
            words.update(re.findall(r"\b[A-Z][A-Z_]+\b", getattr(param, "metavar", None) or ""))
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(_tree())
    assert {"FILE", "FINGERPRINT", "OPTIONS", "COMMAND"} <= words  # the walk finds them
    assert sorted(words - set(helptext.METAVARS_ZH)) == []


def test_metavars_read_in_chinese_for_a_chinese_reader(tmp_path: Path) -> None:
    zh = _help(["evidence", "verify"], "zh-CN", tmp_path)
    assert "用法：spotcheck evidence verify [选项]" in zh
    assert "文件|指纹" in zh and "FINGERPRINT" not in zh and "[OPTIONS]" not in zh
    assert not re.search(r"\bFILE\b", zh), zh
    group = _help(["plan"], "zh-CN", tmp_path)
    assert "用法：spotcheck plan [选项] 命令 [参数]..." in group and "COMMAND" not in group
    en = _help(["evidence", "verify"], "en", tmp_path)
    assert "FILE|FINGERPRINT" in en and "[OPTIONS]" in en
