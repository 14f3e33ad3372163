"""The chat app: `python app.py` serves a Gradio chat about the reports, plus an API
(/ask, /compare, /documents, /text).

Local only by default (127.0.0.1:7860); builds the index first when it is missing or stale.
The page loads nothing from the internet (system fonts, no analytics, no CDN scripts).
See README: "Chat app and API".
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

ROOT = Path(__file__).resolve().parent
DEFAULT_INDEX = os.environ.get("QA_INDEX", str(ROOT / "index"))
DEFAULT_SOURCES = os.environ.get("QA_SOURCES", str(ROOT / "seeds"))
TITLE = "政府工作报告问答"
CSV_DIR = Path(tempfile.gettempdir()) / "qa-app-csv"  # comparison CSVs for download (Gradio serves the temp dir)
CSV_KEEP_SECONDS = 3600
CHART_ANGLE_OVER = 8  # bars: slant the labels when there are more than this many

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
#qa-chat .qa-ctable { border-collapse: collapse; width: 100%; margin: 6px 0; font-size: 0.92em; }
#qa-chat .qa-ctable th, #qa-chat .qa-ctable td {
  border: none; border-bottom: 1px solid var(--border-color-primary); padding: 4px 8px;
  text-align: left; vertical-align: top;
}
#qa-chat .qa-ctable th.qa-sort { cursor: pointer; user-select: none; white-space: nowrap; }
#qa-chat .qa-ctable th.qa-sort::after { content: " ↕"; color: var(--body-text-color-subdued); }
#qa-chat .qa-key { display: none; }
#qa-chat .qa-crow-main td:nth-child(-n+4) { white-space: nowrap; }
#qa-chat .qa-ctable th[data-dir="asc"]::after { content: " ▲"; color: var(--color-accent); }
#qa-chat .qa-ctable th[data-dir="desc"]::after { content: " ▼"; color: var(--color-accent); }
#qa-chat .qa-crow-main { cursor: pointer; }
#qa-chat .qa-crow-none .qa-crow-main { cursor: default; }
#qa-chat .qa-crow-main:hover, #qa-chat .qa-open .qa-crow-main { background: var(--background-fill-secondary); }
#qa-chat .qa-crow-passage { display: none; }
#qa-chat .qa-open .qa-crow-passage { display: table-row; }
#qa-chat .qa-crow-passage td {
  border-left: 3px solid var(--color-accent); background: var(--background-fill-secondary);
}
#qa-chat .qa-ctable strong { color: var(--color-accent); }
"""

# Sorting the comparison tables by their headers and opening a row's passage on click: one
# listener on the page (the chat's HTML is sanitized, so it carries no handlers of its own).
HEAD = """<script>
(() => {
  const key = (body, column, numeric) => {
    const cell = body.rows[0] && body.rows[0].cells[column];
    const raw = cell && cell.querySelector(".qa-key") ? cell.querySelector(".qa-key").textContent : "";
    return raw === "" ? null : numeric ? Number(raw) : raw;
  };
  const compare = (x, y, sign) => {
    if (x === null || y === null) return (x === null) - (y === null);  // blanks (未找到) last
    return sign * (typeof x === "number" ? x - y : String(x).localeCompare(String(y), "zh-CN"));
  };
  const sortBy = (th) => {
    const table = th.closest("table");
    const numeric = th.classList.contains("qa-sort-num");
    const dir = th.dataset.dir ? (th.dataset.dir === "asc" ? "desc" : "asc") : numeric ? "desc" : "asc";
    table.querySelectorAll("th.qa-sort").forEach((h) => { delete h.dataset.dir; h.removeAttribute("aria-sort"); });
    th.dataset.dir = dir;
    th.setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
    const sign = dir === "asc" ? 1 : -1;
    const bodies = Array.from(table.tBodies);
    bodies.sort((a, b) => compare(key(a, th.cellIndex, numeric), key(b, th.cellIndex, numeric), sign));
    bodies.forEach((body) => table.appendChild(body));
  };
  document.addEventListener("click", (event) => {
    const target = event.target;
    if (!(target instanceof Element)) return;
    const th = target.closest(".qa-ctable th.qa-sort");
    if (th) return sortBy(th);
    const row = target.closest(".qa-ctable tr.qa-crow-main");
    if (row && row.parentElement) row.parentElement.classList.toggle("qa-open");
  });
})();
</script>"""


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


def examples_for(documents: Sequence[dict[str, Any]]) -> list[str]:
    """Example questions that fit the index: the seed's for one report, comparisons for several."""
    if len(documents) <= 1:
        return list(EXAMPLES)
    places = list(dict.fromkeys(d["place"] for d in documents if d["place"]))
    years = sorted({d["year"] for d in documents if d["year"]})
    latest = years[-1] if years else ""
    if len(places) >= 2:
        a, b = places[0], places[1]
        return [
            f"各省{latest}年地区生产总值增长目标分别是多少？",
            f"{a}和{b}的城镇新增就业目标相比",
            f"{a}{latest}年地区生产总值增长目标是多少？",
            f"那{b}呢？",
            f"{b}城镇调查失业率控制在多少？",
            "各地区一般公共预算收入增长目标分别是多少？",
        ]
    first = years[0] if years else ""
    return [
        f"{first}年到{latest}年每年的国内生产总值增长目标",
        f"{latest}年国内生产总值增长目标是多少？",
        "历年城镇新增就业目标",
        f"{latest}年居民消费价格涨幅控制在多少？",
    ]


def doc_choices(documents: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """The report selector's choices: (label shown, document path), labels made unique."""
    labels = [d["label"] for d in documents]
    return [
        (f"{d['label']}（{d['doc']}）" if labels.count(d["label"]) > 1 else d["label"], d["doc"]) for d in documents
    ]


def report_table(documents: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """The report panel's rows: place, year, title, chunks, file."""
    return [[d["place"], d["year"] or "", d["title"] or d["doc"], d["chunks"], d["doc"]] for d in documents]


def write_csv(text: str) -> Path:
    """The comparison CSV in a fresh temp folder (UTF-8 with BOM, so spreadsheets read the Chinese);
    folders older than an hour are removed."""
    CSV_DIR.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in CSV_DIR.iterdir():
        if now - old.stat().st_mtime > CSV_KEEP_SECONDS:
            shutil.rmtree(old, ignore_errors=True)
    path = Path(tempfile.mkdtemp(dir=CSV_DIR)) / "comparison.csv"
    path.write_text(text, encoding="utf-8-sig")
    return path


def comparison_outputs(comparison: Any) -> tuple[Any, ...]:
    """The comparison panel for the latest comparison: shown, its title, bar chart and CSV (unchanged when None)."""
    import gradio as gr
    import pandas as pd

    from qa.render import chart_rows, comparison_csv, escape

    if comparison is None:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    bars = chart_rows(comparison)
    frame = pd.DataFrame(bars, columns=["报告", "数值", "答案"])
    found = sum(r.found for r in comparison.rows)
    title = (
        f"### 比较：{escape(comparison.metric)}\n{found}/{len(comparison.rows)} 个报告给出了答案；"
        f"图中是 {len(bars)} 个可读出数字的答案（未找到的不列入）。"
    )
    chart = gr.BarPlot(value=frame, x_label_angle=-45 if len(bars) > CHART_ANGLE_OVER else 0)
    return gr.Column(visible=True), title, chart, write_csv(comparison_csv(comparison))


@contextmanager
def gradio_errors() -> Iterator[None]:
    """Bad input (InputError) as a gr.Error: the caller sees its message (gradio_client raises AppError)."""
    import gradio as gr

    from qa.chat import InputError

    try:
        yield
    except InputError as error:
        raise gr.Error(str(error), print_exception=False) from None


def build_demo(service: Any, examples: Sequence[str] | None = None) -> Any:
    """The chat page and its API endpoints (/chat for the page; /ask, /compare, /documents, /text for programs)."""
    import gradio as gr

    from qa.chat import DEFAULT_K, MAX_K
    from qa.render import escape

    documents = service.documents()
    examples = list(examples) if examples is not None else examples_for(documents)

    def chat(
        message: str, history: list, k: int = DEFAULT_K, show_all: bool = False, docs: list[str] | None = None
    ) -> tuple[str, list, Any]:
        """One chat turn as the web page does it: returns the input box text and the chat messages (HTML).

        Args:
            message: the question.
            history: the chat so far, as messages ({"role", "content"}).
            k: how many passages to retrieve (1-20).
            show_all: show every retrieved passage, not only the one holding the answer.
            docs: the reports to ask (document paths); empty or null for all.
        """
        turn = service.turn(message, history, k, show_all, docs)
        return turn.box, turn.messages, turn.comparison

    def ask(
        question: str,
        history: list | None = None,
        k: int = DEFAULT_K,
        docs: list[str] | None = None,
        place: str | None = None,
        year: int | None = None,
    ) -> dict[str, Any]:
        """Answer a question about the reports, with its citation and the retrieved passages.

        Args:
            question: the question (Chinese or English, at most the app's --max-chars characters).
            history: earlier turns for follow-ups: [[question, answer], ...] or chat messages; null for none.
            k: how many passages to return (1-20).
            docs: only these reports (paths, file names or labels such as "浙江 2025"); null for all.
            place: only the reports of this place (浙江, 浙江省); null for any.
            year: only the reports of this year; null for any.
        Returns:
            {"question", "found", "answer", "confidence", "citation": {doc, section, start, end, page},
            "passages": [...], "reason", "mode": "answer" | "compare"} plus "rows" (one per report) in compare mode.
            Bad input, or filters no report matches, raise an error whose message says what is wrong.
        """
        with gradio_errors():
            return service.ask(question, history, k, docs, place, year)

    def compare(
        question: str, docs: list[str] | None = None, place: str | None = None, year: int | None = None
    ) -> dict[str, Any]:
        """Ask every report (or those the filters select) the same question: one cited answer per report.

        Args:
            question: what to compare, e.g. 地区生产总值增长目标是多少？
            docs: only these reports (paths, file names or labels); null for all.
            place: only the reports of this place; null for any.
            year: only the reports of this year; null for any.
        Returns:
            {"question", "mode": "compare", "metric", "rows": [{"doc", "title", "place", "year", "report_year",
            "found", "answer", "value", "confidence", "citation": {doc, section, start, end, page}, "reason"}, ...]}.
        """
        with gradio_errors():
            return service.compare(question, docs, place, year)

    def list_documents() -> list[dict[str, Any]]:
        """The reports in the index.

        Returns:
            [{"doc", "label", "title", "place", "level", "year", "date", "speaker", "speaker_title", "chunks",
            "format"}, ...]
        """
        return service.documents()

    def text(doc: str, start: int | None = None, end: int | None = None) -> str:
        """A document's extracted text, the one citations index: text(doc, start, end) == answer.

        Args:
            doc: the document (its path as in citations, its file name or label).
            start: first character (default 0).
            end: end character, exclusive (default: the end of the text).
        Returns:
            the text, or its [start:end] slice.
        """
        with gradio_errors():
            return service.text(doc, start, end)

    about = (
        f'<div id="qa-header"><h1>{TITLE}</h1>'
        f"<p>资料：{escape(service.describe())}。</p>"
        "<p>每个回答都摘自报告原文：答案加粗，并给出置信度和出处（章节、段落、原文中高亮的答案）；"
        "报告里没有的内容会直说“没有找到”，不会猜测。支持中文和英文提问，也可以接着上一问追问；"
        "比较类问题（各省…分别是多少、历年…、甲和乙相比）逐个报告作答，给出表格、图表和 CSV。</p></div>"
    )
    placeholder = (
        "<b>你好！</b>请在下方输入关于报告的问题，或点击一个示例问题。<br>"
        "例如：数字（生产总值增长多少）、清单（哪“三大平台”）、某年实绩与目标、英文提问、追问（那2017年呢？）、"
        "跨报告比较（各省…分别是多少）。"
    )
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(CSV_KEEP_SECONDS, CSV_KEEP_SECONDS)) as demo:
        gr.HTML(about)
        with gr.Accordion(f"索引中的报告（{len(documents)} 份）", open=False, elem_id="qa-reports-panel"):
            gr.Dataframe(
                value=report_table(documents),
                headers=["地区", "年份", "标题", "段落数", "文件"],
                datatype=["str", "number", "str", "number", "str"],
                interactive=False,
                max_height=320,
                elem_id="qa-reports-table",
                label="报告（点击表头排序）",
            )
        last = gr.State(None)
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
                with gr.Column(visible=False, elem_id="qa-compare-panel") as panel:
                    compare_title = gr.Markdown(elem_id="qa-compare-title")
                    chart = gr.BarPlot(
                        x="报告",
                        y="数值",
                        sort="-y",
                        tooltip=["报告", "答案", "数值"],
                        x_title="报告",
                        y_title="数值（取自答案）",
                        y_lim=[0, None],  # bars start at zero
                        label="各报告的数值",
                        height=320,
                        elem_id="qa-chart",
                    )
                    csv = gr.DownloadButton("下载 CSV（全部行，含出处）", elem_id="qa-csv", size="md")
                gallery = gr.Examples(
                    examples=[[q] for q in examples],
                    inputs=[box],
                    label="示例问题（点击即问；可接着上一问追问）",
                    elem_id="qa-examples",
                    cache_examples=False,
                )
            with gr.Column(scale=1, min_width=240):
                gr.Markdown("### 设置")
                selector = gr.Dropdown(
                    choices=doc_choices(documents),
                    value=[],
                    multiselect=True,
                    label="只问这些报告（不选 = 全部）",
                    elem_id="qa-docs",
                )
                k = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="检索段落数 k", elem_id="qa-k")
                show_all = gr.Checkbox(value=False, label="显示全部检索段落", elem_id="qa-show-all")
                clear = gr.Button("清空对话", variant="secondary", elem_id="qa-clear")
                gr.Markdown(
                    "### 说明\n"
                    "- 答案为报告原文片段，黄色高亮处即答案在段落中的位置。\n"
                    "- 置信度低或“没有找到”时，请换个问法或看引用段落。\n"
                    "- 比较结果：点击表格的一行看原文出处，点击表头排序；图表与 CSV 在对话下方。\n"
                    "- 程序调用：页面底部的 “Use via API / 通过 API 使用”"
                    "（接口 `/ask`、`/compare`、`/documents`、`/text`）。"
                )
        turn: dict[str, Any] = {
            "fn": chat,
            "inputs": [box, chatbot, k, show_all, selector],
            "outputs": [box, chatbot, last],
            "show_progress": "minimal",
        }
        show: dict[str, Any] = {
            "fn": comparison_outputs,
            "inputs": [last],
            "outputs": [panel, compare_title, chart, csv],
            "api_visibility": "private",
        }
        box.submit(**turn, api_name="chat").then(**show)
        send.click(**turn, api_visibility="private").then(**show)
        gallery.load_input_event.then(**turn, api_visibility="private").then(**show)
        clear.click(
            lambda: ("", [], None, gr.Column(visible=False)),
            None,
            [box, chatbot, last, panel],
            api_visibility="private",
            queue=False,
        )
        gr.api(ask, api_name="ask")
        gr.api(compare, api_name="compare")
        gr.api(list_documents, api_name="documents")
        gr.api(text, api_name="text")
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
            head=HEAD,
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
