"""Mistakes in what a person typed read in their language: Click's usage errors at the CLI
(Typer's own copy of Click writes English f-strings) and pydantic's validation errors on a
console form, both said again from the message catalogue (spotcheck.usage)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field, ValidationError

from spotcheck.usage import error_text, validation_text
from tests.clirun import spotcheck


@pytest.mark.parametrize(("english", "chinese"), [
    ("No such option: --bogus", "没有这个选项：--bogus"),
    ("No such option: --limt (Possible options: --limit)",
     "没有这个选项：--limt（可用的选项：--limit）"),
    ("No such command 'lst'. Did you mean 'list'?", "没有这个子命令：'lst'。您是否想输入 'list'？"),
    ("Missing argument 'plan'.", "缺少参数 'plan'。"),
    ("Missing option '--format' / '-f'.", "缺少选项 '--format' / '-f'。"),
    ("Missing command.", "缺少子命令。"),
    ("Got unexpected extra argument(s) (extra)", "多余的参数：extra"),
    ("Option '--json' does not take a value.", "选项 '--json' 不接受取值。"),
    ("Option '--limit' requires an argument.", "选项 '--limit' 需要一个取值。"),
    ("Invalid value for '--limit': Input should be a valid integer, unable to parse string "
     "as an integer", "'--limit' 的取值无效：应为整数"),
    ("Invalid value for '--threshold' / '-t': Input should be a valid number, unable to parse "
     "string as a number", "'--threshold' / '-t' 的取值无效：应为数字"),
    ("Invalid value for 'FILE': File 'x.csv' does not exist.",
     "'FILE' 的取值无效：路径 'x.csv' 不存在。"),
    ("Invalid value for '--kind': 'zzz' is not one of 'listing', 'order'.",
     "'--kind' 的取值无效：'zzz' 不是以下之一：'listing', 'order'。"),
])
def test_click_s_usage_errors_read_in_chinese(english: str, chinese: str) -> None:
    assert error_text(english, "zh-CN") == chinese


def test_a_message_of_an_unknown_shape_stays_as_it_is() -> None:
    assert error_text("Something Click says one day", "zh-CN") == "Something Click says one day"
    assert error_text("No such option: --bogus", "en") == "No such option: --bogus"


def _run(home: Path, *args: str, locale: str) -> tuple[int, str]:
    env = {"SPOTCHECK_HOME": str(home), "SPOTCHECK_CONFIG": str(home / "none.toml"),
           "SPOTCHECK_LOCALE": locale}
    ran = spotcheck(*args, env=env, unset=("SPOTCHECK_DB",))
    return ran.returncode, ran.stderr


def test_the_cli_says_a_usage_error_in_the_reader_s_language(tmp_path: Path) -> None:
    code, err = _run(tmp_path, "plan", "list", "--bogus", locale="zh-CN")
    assert code == 2
    assert "用法：spotcheck plan list [选项]" in err
    assert "运行 'spotcheck plan list -h' 查看帮助。" in err
    assert "错误：没有这个选项：--bogus" in err and "Error" not in err and "Usage" not in err
    code, err = _run(tmp_path, "signals", "matches", "--limit", "abc", locale="zh-CN")
    assert code == 2 and "'--limit' 的取值无效：应为整数" in err
    code, err = _run(tmp_path, "plan", "show", locale="zh-CN")
    assert code == 2 and "缺少参数 'plan'。" in err
    code, err = _run(tmp_path, "plan", "lst", locale="zh-CN")
    assert code == 2 and "没有这个子命令：'lst'。" in err
    code, err = _run(tmp_path, "plan", "list", "--bogus", locale="en")
    assert code == 2 and "Usage: spotcheck plan list" in err
    assert "Error: No such option: --bogus" in err


class _Form(BaseModel):
    page: int = Field(ge=1)
    note: str = Field(max_length=3)


def _error(**values: object) -> dict[str, object]:
    with pytest.raises(ValidationError) as info:
        _Form.model_validate(values)
    return dict(info.value.errors()[0])


def test_pydantic_s_errors_read_by_their_type() -> None:
    assert validation_text(_error(page=0, note="x")) == "page：应大于或等于 1"
    assert validation_text(_error(page=0, note="x"), "en") == (
        "page: Input should be greater than or equal to 1")
    assert validation_text(_error(page="x", note="x")) == "page：应为整数"
    assert validation_text(_error(page=1, note="long")) == "note：最多 3 个字符"
    assert validation_text(_error(note="x")) == "page：必须填写"
    # a console request's value: where it came from is not shown
    assert validation_text({"type": "missing", "loc": ("query", "seed"), "msg": "x"}) == (
        "seed：必须填写")
    # an error type not listed keeps pydantic's English
    assert validation_text({"type": "url_parsing", "loc": ("body", "url"),
                            "msg": "Input should be a valid URL"}) == (
        "url：Input should be a valid URL")
