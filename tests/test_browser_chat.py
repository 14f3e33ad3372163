"""The chat page in a real browser: Debian Chromium driven by Playwright (never `playwright install`).

Outside CI the test skips when Chromium is missing; with CI=true it fails instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from app_server import RunningApp, multi_index_dir, shared_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path(os.environ.get("QA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
ANSWER_TIMEOUT_MS = 30_000
XSS = "<img src=x onerror=alert(1)>"
XSS_FLAG = '<img src=x onerror="window.__xss=1">'


def require_chromium(path: Path, in_ci: bool) -> None:
    """Skip (locally) or fail (in CI) when the browser cannot run."""
    problem = ""
    if not path.is_file():
        problem = f"Chromium not found at {path}: run `make browser-deps` (apt-get install chromium fonts-noto-cjk)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed: pip install -e '.[dev]'"
    if problem:
        if in_ci:
            pytest.fail(problem)
        pytest.skip(problem)


def test_missing_chromium_fails_in_ci_and_skips_elsewhere(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception):
        require_chromium(tmp_path / "no-chromium", in_ci=True)
    with pytest.raises(pytest.skip.Exception):
        require_chromium(tmp_path / "no-chromium", in_ci=False)


@pytest.fixture(scope="module")
def browser(in_ci: bool) -> Iterator[Any]:
    require_chromium(CHROMIUM, in_ci)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def app(real_index_dir: Path, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RunningApp:
    return shared_app(real_index_dir, request, tmp_path_factory)


class Page:
    """One browser tab on the app, recording outside requests (which are cut off) and dialogs."""

    def __init__(self, browser: Any, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.outside: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []  # uncaught script errors on the page
        self.page.on("request", self._on_request)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._on_dialog)
        self.page.route("**/*", self._route)  # the network is cut: only this machine answers
        self.url = url

    def _on_request(self, request: Any) -> None:
        self.requests.append(request.url)
        if urlsplit(request.url).hostname not in LOCAL_HOSTS and not request.url.startswith(("data:", "blob:")):
            self.outside.append(request.url)

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            route.abort()

    def replies(self) -> Any:
        return self.page.locator("#qa-chat .qa-reply")

    def wait_for_replies(self, count: int) -> Any:
        self.page.wait_for_function(
            f"document.querySelectorAll('#qa-chat .qa-reply').length >= {count}", timeout=ANSWER_TIMEOUT_MS
        )
        return self.replies().nth(count - 1)

    def type_question(self, text: str) -> None:
        box = self.page.locator("#qa-input textarea")
        box.fill(text)
        box.press("Enter")


@pytest.fixture(scope="session")
def multi_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RunningApp:
    return shared_app(multi_index_dir(tmp_path_factory), request, tmp_path_factory)


@pytest.fixture()
def tab(browser: Any, app: RunningApp) -> Iterator[Page]:
    page = Page(browser, app.url)
    yield page
    page.context.close()


@pytest.fixture()
def multi_tab(browser: Any, multi_app: RunningApp) -> Iterator[Page]:
    page = Page(browser, multi_app.url)
    yield page
    page.context.close()


def test_chat_in_the_browser(tab: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    started = time.perf_counter()
    tab.page.goto(tab.url, wait_until="load")
    expect(tab.page.locator("#qa-input textarea")).to_be_visible()
    load_seconds = time.perf_counter() - started
    assert load_seconds < 10, f"page took {load_seconds:.1f} s to load with the network cut"
    expect(tab.page.get_by_role("heading", name="政府工作报告问答")).to_be_visible()
    expect(tab.page.get_by_role("button", name="提问")).to_be_visible()

    # An example question, clicked: answer in bold, the citation's passage with the span marked.
    tab.page.get_by_text("2017年天津生产总值预期增长多少？", exact=True).click()
    reply = tab.wait_for_replies(1)
    expect(reply.locator(".qa-answer strong")).to_have_text("8%")
    expect(reply.locator(".qa-where")).to_contain_text("二、2017年工作目标和主要任务")
    mark = reply.locator(".qa-evidence mark").first
    expect(mark).to_be_visible()
    expect(mark).to_have_text("8%")
    expect(reply.locator(".qa-evidence .qa-pmeta")).to_contain_text("tianjin_2017_government_work_report")
    expect(reply.locator(".qa-meta")).to_contain_text("置信度")

    # A typed question, then the follow-up example that leans on it.
    tab.type_question("2016年天津城镇登记失业率是多少？")
    expect(tab.wait_for_replies(2).locator(".qa-answer strong")).to_have_text("3.5%")
    tab.page.get_by_text("那2017年呢？", exact=True).click()
    followup = tab.wait_for_replies(3)
    expect(followup.locator(".qa-answer strong")).to_contain_text("3.8%")
    expect(followup.locator(".qa-evidence mark").first).to_contain_text("3.8%")

    # Markup in a question is shown as text, never run.
    tab.type_question(XSS)
    tab.wait_for_replies(4)
    tab.type_question(XSS_FLAG)
    tab.wait_for_replies(5)
    expect(tab.page.locator("#qa-chat").get_by_text(XSS, exact=True)).to_be_visible()
    assert tab.page.locator("#qa-chat img").count() == 0
    assert tab.page.evaluate("window.__xss") is None
    time.sleep(0.3)  # give a (wrongly) injected onerror handler time to fire
    assert tab.dialogs == []

    tab.page.locator("#qa-chat .qa-reply").first.scroll_into_view_if_needed()
    tab.page.screenshot(path=str(tmp_path / "chat.png"))
    tab.page.screenshot(path=str(tmp_path / "chat-full.png"), full_page=True)
    assert (tmp_path / "chat.png").stat().st_size > 10_000
    assert tab.outside == [], f"the page asked hosts other than this machine: {tab.outside}"
    assert any("127.0.0.1" in url for url in tab.requests)


def test_bad_input_and_settings_in_the_browser(tab: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    tab.page.goto(tab.url, wait_until="load")
    tab.type_question("🙂🙂🙂")
    notice = tab.wait_for_replies(1)
    expect(notice).to_contain_text("没有可检索的文字")
    expect(tab.page.locator("#qa-input textarea")).to_have_value("🙂🙂🙂")  # left to fix
    assert tab.page.locator(".toast-body").count() == 0  # a message in the chat, not an error toast

    tab.page.get_by_label("显示全部检索段落").check()
    tab.type_question("2016年天津港货物吞吐量是多少？")
    reply = tab.wait_for_replies(2)
    expect(reply.locator(".qa-passage")).to_have_count(5)
    # Long passages fold: a snippet with the mark stays visible, the full text opens on click.
    tab.type_question("2017年政府工作的总体要求是什么？")
    folded = tab.wait_for_replies(3).locator("details").first
    expect(folded).to_be_attached()
    assert folded.evaluate("e => e.open") is False
    folded.locator("summary").click()
    assert folded.evaluate("e => e.open") is True
    tab.page.locator("#qa-clear").click()
    expect(tab.replies()).to_have_count(0)
    tab.page.screenshot(path=str(tmp_path / "cleared.png"))
    assert tab.outside == []


def test_api_page_lists_the_endpoints_offline(tab: Page) -> None:
    from playwright.sync_api import expect

    tab.page.goto(tab.url, wait_until="load")
    tab.page.locator("button.show-api").click()
    expect(tab.page.get_by_text('api_name="/ask"').first).to_be_visible()
    for name in ("/chat", "/compare", "/documents", "/text"):
        expect(tab.page.get_by_text(f'api_name="{name}"').first).to_be_attached()
    assert tab.outside == [], f"the API page asked hosts other than this machine: {tab.outside}"


def test_comparison_in_the_browser(multi_tab: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    tab = multi_tab
    tab.page.goto(tab.url, wait_until="load")
    tab.type_question("北京和上海的城镇新增就业目标相比")
    reply = tab.wait_for_replies(1)
    table = reply.locator("table.qa-ctable")
    expect(table).to_be_visible()
    rows = table.locator("tr.qa-crow-main")
    expect(rows).to_have_count(2)
    expect(table.locator("th")).to_have_text(["地区", "年份", "答案", "置信度", "出处"])
    answers = [a.inner_text() for a in table.locator("tr.qa-crow-main td:nth-child(3) strong").all()]
    assert answers and all(a.strip() for a in answers)

    # A row opens its passage with the answer marked; clicking it again folds it.
    passage = table.locator("tr.qa-crow-passage").first
    expect(passage).to_be_hidden()
    rows.first.click()
    expect(passage).to_be_visible()
    expect(passage.locator("mark")).to_have_text(answers[0])
    rows.first.click()
    expect(passage).to_be_hidden()

    # Sorting by the answer's value: largest first, then smallest first.
    header = table.locator("th", has_text="答案")
    header.click()
    values = [float(v) for v in table.locator("tr.qa-crow-main td:nth-child(3) .qa-key").all_text_contents()]
    assert values == sorted(values, reverse=True)
    header.click()
    values = [float(v) for v in table.locator("tr.qa-crow-main td:nth-child(3) .qa-key").all_text_contents()]
    assert values == sorted(values)
    expect(header).to_have_attribute("aria-sort", "ascending")

    # The chart under the chat, drawn locally, and the CSV of the rows.
    panel = tab.page.locator("#qa-compare-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("比较：")
    chart = tab.page.locator("#qa-chart")
    expect(chart.locator("canvas, svg").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    with tab.page.expect_download() as download:
        tab.page.locator("#qa-csv").click()
    saved = tmp_path / "comparison.csv"
    download.value.save_as(saved)
    lines = saved.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("place,year,report_year,found,answer,value") and len(lines) == 3

    rows.nth(1).click()  # one passage open in the screenshot
    reply.scroll_into_view_if_needed()
    tab.page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    assert (tmp_path / "compare.png").stat().st_size > 20_000
    assert tab.errors == [] and tab.dialogs == []
    assert tab.outside == [], f"the page asked hosts other than this machine: {tab.outside}"


def test_report_selector_restricts_the_answer(multi_tab: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    tab = multi_tab
    tab.page.goto(tab.url, wait_until="load")
    # The report panel lists the index's reports.
    tab.page.locator("#qa-reports-panel").get_by_text("索引中的报告（3 份）").click()
    listing = tab.page.locator("#qa-reports-table")
    for title in ("2025年北京市政府工作报告", "2025年上海市政府工作报告", "2025年浙江省政府工作报告"):
        expect(listing.get_by_role("gridcell", name=title, exact=True)).to_be_visible()

    question = "2025年地区生产总值增长目标是多少？"
    choose_reports(tab, ["浙江 2025"])
    tab.type_question(question)
    zhejiang = tab.wait_for_replies(1)
    expect(zhejiang.locator(".qa-meta")).to_contain_text("仅在所选报告中查找：浙江 2025")
    expect(zhejiang.locator(".qa-where")).to_contain_text("浙江")

    tab.page.locator("#qa-clear").click()
    expect(tab.replies()).to_have_count(0)
    tab.page.locator("#qa-docs .token .token-remove").first.click()  # 浙江 2025 taken out again
    expect(tab.page.locator("#qa-docs .token")).to_have_count(0)
    choose_reports(tab, ["北京 2025"])
    tab.type_question(question)
    beijing = tab.wait_for_replies(1)
    expect(beijing.locator(".qa-meta")).to_contain_text("仅在所选报告中查找：北京 2025")
    expect(beijing.locator(".qa-where")).to_contain_text("北京")
    tab.page.screenshot(path=str(tmp_path / "selector.png"), full_page=True)
    assert tab.outside == [] and tab.errors == []


def choose_reports(tab: Page, labels: list[str]) -> None:
    """Pick reports in the page's multi-select (its input filters the options)."""
    box = tab.page.locator("#qa-docs input")
    for label in labels:
        box.click()
        box.fill(label)
        tab.page.get_by_role("option", name=label).click()
    tab.page.keyboard.press("Escape")
