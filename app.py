"""The chat app: `python app.py` serves a Gradio chat about the reports, plus the /ask API.

Local only by default (127.0.0.1:7860); builds the index first when it is missing or stale.
The page loads nothing from the internet (system fonts, no analytics). See README: "Chat app and API".
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

ROOT = Path(__file__).resolve().parent
DEFAULT_INDEX = os.environ.get("QA_INDEX", str(ROOT / "index"))
DEFAULT_SOURCES = os.environ.get("QA_SOURCES", str(ROOT / "seeds"))
TITLE = "政府工作报告问答"

# A number, a 2016-vs-2017 pick, a follow-up to it, a list, English, and one the report cannot answer.
EXAMPLES = [
    "2017年天津生产总值预期增长多少？",
    "2016年天津城镇登记失业率是多少？",
    "那2017年呢？",
    "国有企业改革要打造哪“三大平台”？",
    "How many containers (TEU) did Tianjin Port handle in 2016?",
    "2018年天津生产总值增长目标是多少？",
]

SANS = ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "system-ui", "sans-serif"]
MONO = ["Noto Sans Mono CJK SC", "DejaVu Sans Mono", "ui-monospace", "Consolas", "monospace"]

CSS = """
#qa-header h1 { margin: 0 0 4px 0; font-size: 1.7em; }
#qa-header p { margin: 2px 0; color: var(--body-text-color-subdued); }
#qa-chat mark { background: #ffe58f; color: #1f2328; padding: 0 2px; border-radius: 3px; }
#qa-chat .qa-answer { font-size: 1.08em; margin-bottom: 2px; }
#qa-chat .qa-answer strong { color: var(--color-accent); font-size: 1.12em; }
#qa-chat .qa-notfound { color: #b45309; font-weight: 600; }
#qa-chat .qa-meta, #qa-chat .qa-where, #qa-chat .qa-pmeta, #qa-chat .qa-hint, #qa-chat .qa-plabel {
  color: var(--body-text-color-subdued); font-size: 0.88em; margin: 2px 0;
}
#qa-chat .qa-plabel { margin-top: 8px; font-weight: 600; }
#qa-chat .qa-conf-high { color: #15803d; font-weight: 600; }
#qa-chat .qa-conf-mid { color: #b45309; font-weight: 600; }
#qa-chat .qa-conf-low { color: #b91c1c; font-weight: 600; }
#qa-chat .qa-passage { border-left: 3px solid var(--border-color-primary); padding: 4px 10px; margin: 6px 0; }
#qa-chat .qa-evidence { border-left-color: var(--color-accent); background: var(--background-fill-secondary); }
#qa-chat .qa-section { font-weight: 600; }
#qa-chat .qa-pnum { color: var(--body-text-color-subdued); }
#qa-chat .qa-badge {
  background: var(--color-accent); color: white; border-radius: 4px; padding: 0 6px; font-size: 0.8em;
}
#qa-chat .qa-ptext { line-height: 1.7; margin-top: 2px; }
#qa-chat details summary { cursor: pointer; color: var(--body-text-color-subdued); font-size: 0.88em; }
#qa-chat code { font-size: 0.85em; }
"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from qa.chat import DEFAULT_MAX_CHARS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--host",
        default=os.environ.get("QA_HOST", "127.0.0.1"),
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 exposes it)",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("QA_PORT", "7860")), help="default 7860")
    parser.add_argument("--index", default=DEFAULT_INDEX, help="index folder (built here if missing or stale)")
    parser.add_argument(
        "--sources",
        nargs="+",
        default=None,
        help=f"files or folders to build from (default: the index's own sources, else {DEFAULT_SOURCES})",
    )
    parser.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS, help="longest question accepted")
    parser.add_argument("--concurrency", type=int, default=4, help="questions answered at the same time")
    parser.add_argument(
        "--reader", default=os.environ.get("QA_READER"), help="a Hugging Face extractive-QA model to read answers with"
    )
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    return parser.parse_args(argv)


def say(message: str) -> None:
    print(f"app: {message}", file=sys.stderr, flush=True)


def build_progress() -> Any:
    """A progress callback for build_index that prints about every 10%."""
    shown: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:
        step = 10 * done // max(total, 1)
        if shown.get(stage) == step:
            return
        shown[stage] = step
        label = {"embed": "embedding chunks", "bm25": "BM25 index"}.get(stage, stage)
        say(f"  {label}: {done}/{total} ({100 * done // max(total, 1)}%)")

    return progress


def ensure_index(index_dir: Path, sources: list[str] | None, why: str = "") -> bool:
    """Build the index when it is missing, stale or unreadable (or ``why`` is given), saying why and how it goes.

    Returns whether it built.
    """
    from qa.index import IndexError_, build_index, read_manifest, stale_reasons

    reason, model = why, None
    roots: list[str] = []
    try:
        manifest = read_manifest(index_dir)
        roots, model = manifest.get("source_roots") or [], manifest.get("model", {}).get("id")
        stale = stale_reasons(index_dir, sources)
        if stale and not reason:
            reason = "the index is stale (" + "; ".join(stale[:3]) + ("; …" if len(stale) > 3 else "") + ")"
    except IndexError_ as error:
        missing = not (index_dir / "manifest.json").exists()
        reason = reason or (
            f"there is no index at {index_dir} yet" if missing else f"the index cannot be used ({error})"
        )
    if not reason:
        return False
    build_from = sources or roots or [DEFAULT_SOURCES]
    say(f"{reason}: building it from {', '.join(map(str, build_from))} first (progress below) …")
    report = build_index(build_from, index_dir, model_id=model, progress=build_progress())
    say(f"index built: {report.files} file(s), {report.chunks} chunks in {report.seconds:.1f} s")
    return True


def theme() -> Any:
    import gradio as gr

    # Plain font names only: no Google Fonts (or any other) download, the page works offline.
    return gr.themes.Default(primary_hue="red", secondary_hue="amber", neutral_hue="stone", font=SANS, font_mono=MONO)


def build_demo(service: Any, examples: Sequence[str] = EXAMPLES) -> Any:
    """The chat page and its API endpoints (/chat for the page, /ask for programs)."""
    import gradio as gr

    from qa.chat import DEFAULT_K, MAX_K, InputError
    from qa.render import escape

    def chat(message: str, history: list, k: int = DEFAULT_K, show_all: bool = False) -> tuple[str, list]:
        """One chat turn as the web page does it: returns the input box text and the chat messages (HTML).

        Args:
            message: the question.
            history: the chat so far, as messages ({"role", "content"}).
            k: how many passages to retrieve (1-20).
            show_all: show every retrieved passage, not only the one holding the answer.
        """
        return service.reply(message, history, k, show_all)

    def ask(question: str, history: list | None = None, k: int = DEFAULT_K) -> dict[str, Any]:
        """Answer a question about the report, with its citation and the retrieved passages.

        Args:
            question: the question (Chinese or English, at most the app's --max-chars characters).
            history: earlier turns for follow-ups: [[question, answer], ...] or chat messages; null for none.
            k: how many passages to return (1-20).
        Returns:
            {"question", "found", "answer", "confidence", "citation": {doc, section, start, end}, "passages": [...]}.
            Bad input raises an error whose message says what is wrong.
        """
        try:
            return service.ask(question, history, k)
        except InputError as error:
            raise gr.Error(str(error), print_exception=False) from None

    about = (
        f'<div id="qa-header"><h1>{TITLE}</h1>'
        f"<p>资料：{escape(service.describe())}。</p>"
        "<p>每个回答都摘自报告原文：答案加粗，并给出置信度和出处（章节、段落、原文中高亮的答案）；"
        "报告里没有的内容会直说“没有找到”，不会猜测。支持中文和英文提问，也可以接着上一问追问。</p></div>"
    )
    placeholder = (
        "<b>你好！</b>请在下方输入关于报告的问题，或点击一个示例问题。<br>"
        "例如：数字（生产总值增长多少）、清单（哪“三大平台”）、2016年实绩与2017年目标、英文提问、追问（那2017年呢？）。"
    )
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.HTML(about)
        with gr.Row(equal_height=False):
            with gr.Column(scale=4):
                chatbot = gr.Chatbot(
                    label="对话",
                    elem_id="qa-chat",
                    height=600,
                    placeholder=placeholder,
                    latex_delimiters=[],
                    feedback_options=None,
                    buttons=["copy"],
                    sanitize_html=True,
                    render_markdown=True,
                    line_breaks=False,
                )
                with gr.Row(equal_height=True):
                    box = gr.Textbox(
                        label="问题",
                        show_label=False,
                        placeholder="输入问题，按回车提问。例如：2017年天津计划新增就业多少人？",
                        lines=1,
                        max_lines=4,
                        scale=6,
                        autofocus=True,
                        elem_id="qa-input",
                    )
                    send = gr.Button("提问", variant="primary", scale=1, min_width=80, elem_id="qa-send")
                gallery = gr.Examples(
                    examples=[[q] for q in examples],
                    inputs=[box],
                    label="示例问题（点击即问；“那2017年呢？”接着上一问追问）",
                    elem_id="qa-examples",
                    cache_examples=False,
                )
            with gr.Column(scale=1, min_width=240):
                gr.Markdown("### 设置")
                k = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="检索段落数 k", elem_id="qa-k")
                show_all = gr.Checkbox(value=False, label="显示全部检索段落", elem_id="qa-show-all")
                clear = gr.Button("清空对话", variant="secondary", elem_id="qa-clear")
                gr.Markdown(
                    "### 说明\n"
                    "- 答案为报告原文片段，黄色高亮处即答案在段落中的位置。\n"
                    "- 置信度低或“没有找到”时，请换个问法或看引用段落。\n"
                    "- 程序调用：页面底部的 “Use via API / 通过 API 使用”（接口 `/ask`）。"
                )
        turn: dict[str, Any] = {"fn": chat, "inputs": [box, chatbot, k, show_all], "outputs": [box, chatbot]}
        box.submit(**turn, api_name="chat", show_progress="minimal")
        send.click(**turn, api_visibility="private", show_progress="minimal")
        gallery.load_input_event.then(**turn, api_visibility="private", show_progress="minimal")
        clear.click(lambda: ("", []), None, [box, chatbot], api_visibility="private", queue=False)
        gr.api(ask, api_name="ask")
    return demo


def main(argv: Sequence[str] | None = None) -> None:
    started = time.perf_counter()
    args = parse_args(argv)
    from qa.chat import ChatService
    from qa.embed import ModelError
    from qa.engine import Engine
    from qa.index import IndexError_

    index_dir = Path(args.index)
    try:
        built = ensure_index(index_dir, args.sources)
        try:
            engine = Engine.load(index_dir, reader=args.reader)
        except IndexError_ as error:
            if built:
                raise
            ensure_index(index_dir, args.sources, why=f"the index cannot be loaded ({error})")
            engine = Engine.load(index_dir, reader=args.reader)
    except (IndexError_, ModelError, OSError) as error:
        say(f"error: {error}")
        sys.exit(1)
    service = ChatService(engine, max_chars=args.max_chars)
    demo = build_demo(service)
    demo.queue(default_concurrency_limit=args.concurrency, max_size=256)
    say(
        f"engine ready in {time.perf_counter() - started:.1f} s ({service.describe()}); serving http://{args.host}:{args.port}/"
    )
    try:
        demo.launch(
            server_name=args.host,
            server_port=args.port,
            share=args.share,
            theme=theme(),
            css=CSS,
            footer_links=["api", "settings"],
            ssr_mode=False,
            pwa=False,
            mcp_server=False,
            show_error=False,
        )
    except OSError as error:  # e.g. the port is taken
        say(f"error: {error}")
        sys.exit(1)


if __name__ == "__main__":
    main()
