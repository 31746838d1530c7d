"""The CLI's help in the reader's language: every command's and option's help text, and
Typer's own words around them (panel titles, defaults, the usage line).

Typer's help texts are the English of the code (docstrings, ``help=``), which scripts and
the README quote; a reader of zh-CN gets them from ``help.zh-CN.json`` beside this module
(English text → Chinese), applied to the command tree before it runs.
``tests/shell/test_cli_help.py`` fails when a help text has no Chinese, so a new option is
translated when it is written.  Codes a person types (``pass | fail``) stay codes, with their
labels beside them.
"""

from __future__ import annotations

import functools
import json
import re
import types
from pathlib import Path
from typing import Any

__all__ = ["CATALOGUE", "METAVARS_ZH", "catalogue", "help_texts", "localise", "metavar_zh"]

CATALOGUE = Path(__file__).with_name("help.zh-CN.json")

#: Typer's words around the help (typer.rich_utils), in Chinese.
_CHROME_ZH = {
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "DEFAULT_STRING": "[默认：{}]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "DEPRECATED_STRING": "（已弃用）",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "运行 [blue]'{command_path} {help_option}'[/] 查看帮助。",
}
_HELP_OPTION_ZH = "显示本帮助并退出。"
#: The value types Typer shows beside an option or argument (``<int>``), in Chinese.
_TYPES_ZH = {"<list[str]>": "<文本，可重复>", "<list[int]>": "<整数，可重复>",
             "<list[Path]>": "<路径，可重复>", "<int range>": "<整数范围>",
             "<float range>": "<数字范围>", "<str>": "<文本>", "<int>": "<整数>",
             "<float>": "<数字>", "<path>": "<路径>", "<file>": "<文件>", "<bool>": "<是/否>"}
_USAGE_ZH = "用法："
#: The upper-case placeholders of a value or of the usage line (``--trust-key FILE``,
#: ``[OPTIONS]``, ``COMMAND [ARGS]...``), each word in Chinese; ``tests/shell/test_cli_help.py``
#: fails on a metavar with a word missing here.
METAVARS_ZH = {"FILE": "文件", "FINGERPRINT": "指纹", "OPTIONS": "选项", "COMMAND": "命令",
               "ARGS": "参数"}
_METAVAR_WORD = re.compile(r"\b[A-Z][A-Z_]+\b")


def metavar_zh(metavar: str) -> str:
    """*metavar* with each upper-case word in Chinese (``FILE|FINGERPRINT`` → ``文件|指纹``);
    a word without a Chinese stays as it is."""
    return _METAVAR_WORD.sub(lambda m: METAVARS_ZH.get(m.group(0), m.group(0)), metavar)


@functools.cache
def catalogue() -> dict[str, str]:
    """English help text → its Chinese."""
    with CATALOGUE.open(encoding="utf-8") as f:
        data: dict[str, str] = json.load(f)
    return data


@functools.cache
def _chrome_en() -> dict[str, Any]:
    from typer import rich_utils

    return {name: getattr(rich_utils, name) for name in _CHROME_ZH}


def help_texts(command: Any) -> list[str]:
    """Every help text of *command* and the commands under it (stripped), in tree order."""
    out: list[str] = []
    for text in (getattr(command, "help", None), getattr(command, "short_help", None)):
        if text and text.strip():
            out.append(text.strip())
    for param in getattr(command, "params", ()):
        if getattr(param, "help", None) and param.help.strip():
            out.append(param.help.strip())
    for sub in getattr(command, "commands", {}).values():
        out.extend(help_texts(sub))
    return out


def localise(command: Any, locale: str) -> None:
    """Put *command*'s tree in *locale*: Chinese help where the catalogue has it (a text it
    lacks stays English), Typer's words in Chinese; English leaves it as it is."""
    from typer import rich_utils

    zh = locale.lower().startswith("zh")
    for name, english in _chrome_en().items():  # process-wide: set back for English
        setattr(rich_utils, name, _CHROME_ZH[name] if zh else english)
    _fold_long_words(rich_utils)
    if zh:
        _tree(command, catalogue())


def _fold_long_words(rich_utils: Any) -> None:
    """Help texts fold a "word" wider than their column instead of cutting it with "…".

    Rich wraps at spaces and crops what does not fit with an ellipsis; a Chinese sentence has
    no spaces, so the zh-CN help lost the end of every long sentence (``--password-stdin``:
    "而不是隐…").  Folding breaks it at the column's edge and keeps every character."""
    make = rich_utils._make_rich_text
    if getattr(make, "folds", False):
        return

    def folding(*args: Any, **kwargs: Any) -> Any:
        text = make(*args, **kwargs)
        if hasattr(text, "overflow"):
            text.overflow = "fold"
        return text

    folding.folds = True  # type: ignore[attr-defined]
    rich_utils._make_rich_text = folding


def _tree(command: Any, texts: dict[str, str]) -> None:
    for attr in ("help", "short_help"):
        text = getattr(command, attr, None)
        if text and text.strip() in texts:
            setattr(command, attr, texts[text.strip()])
    for attr in ("options_metavar", "subcommand_metavar"):  # [OPTIONS], COMMAND [ARGS]...
        if isinstance(getattr(command, attr, None), str):
            setattr(command, attr, metavar_zh(getattr(command, attr)))
    for param in getattr(command, "params", ()):
        if getattr(param, "help", None) and param.help.strip() in texts:
            param.help = texts[param.help.strip()]
        if isinstance(getattr(param, "metavar", None), str):  # --trust-key 文件|指纹
            param.metavar = metavar_zh(param.metavar)
        shown = getattr(param, "display_type", None)
        if callable(shown):  # the value's type: <整数>, not <int>
            def display_type(ctx: Any, _shown: Any = shown) -> Any:
                value = _shown(ctx)
                if isinstance(value, str):
                    for english, chinese in _TYPES_ZH.items():
                        value = value.replace(english, chinese)
                return value
            param.display_type = display_type
    if hasattr(command, "format_usage") and hasattr(command, "collect_usage_pieces"):
        def format_usage(self: Any, ctx: Any, formatter: Any) -> None:
            formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)),
                                  prefix=_USAGE_ZH)
        command.format_usage = types.MethodType(format_usage, command)
    original = getattr(command, "get_help_option", None)
    if original is not None:  # the --help flag is made when help is asked for
        def help_option(ctx: Any, _original: Any = original) -> Any:
            option = _original(ctx)
            if option is not None:
                option.help = _HELP_OPTION_ZH
            return option
        command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        _tree(sub, texts)
