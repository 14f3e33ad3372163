"""Report metadata: the 31 real provincial reports and 8 national ones, general rules, places, sidecar overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.documents import SourceError, load_documents
from qa.metadata import (
    FIELDS,
    PLACES,
    ReportMeta,
    extract_metadata,
    find_places,
    place_aliases,
    read_sidecar,
    report_metadata,
    with_overrides,
)

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
MUNICIPALITIES = {"北京", "天津", "上海", "重庆"}
AUTONOMOUS_REGIONS = {"内蒙古", "广西", "西藏", "宁夏", "新疆"}
MAINLAND = {p.short for p in PLACES if p.level != "sar" and p.short != "台湾"}


def _corpus(name: str) -> dict[str, ReportMeta]:
    folder = CORPORA / name
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    docs, errors = load_documents([folder])
    assert errors == []
    return {doc.path: extract_metadata(doc.path, doc.text) for doc in docs}


@pytest.fixture(scope="module")
def provinces() -> dict[str, ReportMeta]:
    return _corpus("provinces-2025")


@pytest.fixture(scope="module")
def national() -> dict[str, ReportMeta]:
    return _corpus("national-2006-2013")


def test_places_table_has_the_34_provincial_divisions() -> None:
    assert len(PLACES) == 34
    levels = [p.level for p in PLACES]
    assert (levels.count("province"), levels.count("municipality")) == (23, 4)
    assert (levels.count("autonomous_region"), levels.count("sar")) == (5, 2)
    assert len({p.abbr for p in PLACES}) == len({p.short for p in PLACES}) == len({p.full for p in PLACES}) == 34
    assert len(MAINLAND) == 31


def test_all_31_province_reports(provinces: dict[str, ReportMeta]) -> None:
    assert len(provinces) == 31
    missing = {path: meta for path, meta in provinces.items() if not meta.speaker or not meta.date}
    print("\n".join(f"missed: {path} {meta}" for path, meta in missing.items()))
    assert not missing
    places = [meta.place for meta in provinces.values()]
    assert len(set(places)) == 31 and set(places) == MAINLAND
    for path, meta in provinces.items():
        assert meta.year == 2025, path
        assert meta.date.startswith("2025-01-"), path
        assert meta.title == path.removesuffix(".docx"), path  # each file's first line is its title
        expected = (
            "municipality"
            if meta.place in MUNICIPALITIES
            else "autonomous_region"
            if meta.place in AUTONOMOUS_REGIONS
            else "province"
        )
        assert meta.level == expected, path
        assert meta.speaker_title in {"省长", "代省长", "市长", "自治区主席", "代理主席"}, path
        assert 2 <= len(meta.speaker) <= 10 and "同志" not in meta.speaker, path


@pytest.mark.parametrize(
    ("place", "date", "speaker", "title"),
    [
        ("上海", "2025-01-15", "龚正", "市长"),  # ----2025年1月15日龚正市长在…
        ("浙江", "2025-01-14", "刘捷", "代省长"),  # …上浙江省代省长刘捷作政府工作报告
        ("云南", "2025-01-18", "王予波", "省长"),  # 省长 王予波, on its own line
        ("北京", "2025-01-14", "殷勇", "市长"),  # 北京市市长 殷勇同志作…
        ("内蒙古", "2025-01-14", "王莉霞", "自治区主席"),  # 自治区人民政府主席王莉霞在…
        ("西藏", "2025-01-19", "嘎玛泽登", "代理主席"),  # 西藏自治区代理主席 嘎玛泽登
        ("新疆", "2025-01-19", "艾尔肯·吐尼亚孜", "自治区主席"),
        ("辽宁", "2025-01-16", "李乐成", "省长"),  # ——2025年1月16日省长 李乐成在…
        ("青海", "2025-01-19", "罗东川", "代省长"),
    ],
)
def test_province_values_checked_by_eye(
    provinces: dict[str, ReportMeta], place: str, date: str, speaker: str, title: str
) -> None:
    (meta,) = [m for m in provinces.values() if m.place == place]
    assert (meta.date, meta.speaker, meta.speaker_title) == (date, speaker, title)


def test_national_reports_take_year_and_place_from_the_file_name(national: dict[str, ReportMeta]) -> None:
    assert len(national) == 8
    for path, meta in national.items():
        year = int(path[:4])
        assert meta == ReportMeta(path.removesuffix(".txt"), "全国", "national", year, "", "", "总理"), path


def test_general_rules_without_title_line_or_telling_file_name() -> None:
    header = "来源：某某日报\n——2024年1月8日在昆山市第十七届人民代表大会第四次会议上\n代市长 周伟\n各位代表：\n正文。"
    meta = extract_metadata("report.docx", header)
    assert meta == ReportMeta("2024年昆山市政府工作报告", "昆山", "city", 2024, "2024-01-08", "周伟", "代市长")
    city = extract_metadata(
        "x.txt", "2025年深圳市政府工作报告\n2025年1月20日深圳市市长覃伟中同志作政府工作报告。\n各位代表：\n"
    )
    assert (city.place, city.level, city.speaker, city.speaker_title) == ("深圳", "city", "覃伟中", "市长")
    national = extract_metadata("speech.txt", "各位代表：\n现在，我代表国务院，向大会作政府工作报告。")
    assert (national.place, national.level, national.speaker_title, national.year) == ("全国", "national", "总理", None)
    fallback = extract_metadata("notes.txt", "各位代表：\n苏州今年发展很好。苏州的生产总值增长。江苏的支持。")
    assert (fallback.place, fallback.level, fallback.speaker) == ("苏州", "city", "")


def test_report_meta_json_round_trip() -> None:
    meta = ReportMeta("2025年上海市政府工作报告", "上海", "municipality", 2025, "2025-01-15", "龚正", "市长")
    assert ReportMeta.from_json(json.loads(json.dumps(meta.to_json()))) == meta
    assert set(meta.to_json()) == set(FIELDS)


# --- places ----------------------------------------------------------------------------------


def test_place_aliases() -> None:
    assert place_aliases("浙江") == ("浙江", "浙江省", "浙")
    assert place_aliases("广西") == ("广西", "广西壮族自治区", "桂")
    assert place_aliases("全国") == ("全国", "国务院", "中国", "我国", "国家")
    assert place_aliases("深圳") == ("深圳", "深圳市")
    assert place_aliases("上海") == ("上海", "上海市", "沪")


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("2025年上海市地方一般公共预算收入预期增长多少？", ("上海",)),
        ("内蒙古自治区和广西壮族自治区的目标", ("内蒙古", "广西")),
        ("2024年台湾省地区生产总值是多少？", ("台湾",)),
        ("2025年澳门特区政府施政报告的目标", ("澳门",)),
        ("2025年深圳市进出口总额目标是多少？", ("深圳",)),
        ("苏州和无锡的生产总值", ("苏州", "无锡")),
        ("湖南省长是谁？", ("湖南",)),
        ("我国2009年财政赤字", ("全国",)),
        ("國務院2012年的目標", ("全国",)),  # Traditional script
        ("Who delivered Guangdong's 2025 report?", ("广东",)),
        ("沪、苏、浙的合作", ("上海", "江苏")),  # 浙的: not alone, so not taken  # abbreviations standing alone
        ("京津冀协同发展", ()),
        ("长三角沪苏浙皖一体化", ()),
        ("黄河南岸的生态", ()),
        ("长江经济带和中原城市群", ()),
        ("中国式现代化", ()),
        ("国家级新区", ()),
        ("全国人大代表", ()),
    ],
)
def test_find_places(text: str, places: tuple[str, ...]) -> None:
    assert find_places(text) == places


# --- sidecars --------------------------------------------------------------------------------


def _report(folder: Path, name: str = "report.txt") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("2024年某市政府工作报告\n各位代表：\n正文。\n", encoding="utf-8")
    return path


def test_csv_in_a_parent_folder_by_root_relative_path(tmp_path: Path) -> None:
    file = _report(tmp_path / "cities" / "2024")
    (tmp_path / "metadata.csv").write_text(
        "path,place,year,speaker\ncities/2024/report.txt,苏州市,2024,吴庆文\nother.txt,无锡,2023,\n", encoding="utf-8"
    )
    overrides = read_sidecar(file, tmp_path)
    assert overrides == {"place": "苏州市", "year": "2024", "speaker": "吴庆文"}
    meta = report_metadata(file, tmp_path, file.read_text(encoding="utf-8"))
    assert (meta.place, meta.level, meta.year, meta.speaker) == ("苏州", "city", 2024, "吴庆文")


def test_nearer_csv_wins_and_json_wins_over_csv(tmp_path: Path) -> None:
    file = _report(tmp_path / "sub", "r.docx")
    (tmp_path / "metadata.csv").write_text("file,speaker,date\nsub/r.docx,甲,2025-01-10\n", encoding="utf-8")
    (tmp_path / "sub" / "metadata.csv").write_text("file,speaker\nr.docx,乙\n", encoding="gb18030")  # Excel's GBK
    assert read_sidecar(file, tmp_path) == {"speaker": "乙", "date": "2025-01-10"}
    (tmp_path / "sub" / "r.meta.json").write_text(json.dumps({"speaker": "丙", "year": 2025}), encoding="utf-8")
    assert read_sidecar(file, tmp_path) == {"speaker": "丙", "date": "2025-01-10", "year": 2025}
    (tmp_path / "sub" / "r.docx.meta.json").write_text(json.dumps({"speaker": "丁"}), encoding="utf-8")
    assert read_sidecar(file, tmp_path)["speaker"] == "丁"  # the full-name json wins over the stem one


def test_sidecars_are_not_documents(tmp_path: Path) -> None:
    file = _report(tmp_path)
    (tmp_path / "metadata.csv").write_text("file,year\nreport.txt,2024\n", encoding="utf-8")
    (tmp_path / "report.txt.meta.json").write_text('{"place": "苏州"}', encoding="utf-8")
    docs, _ = load_documents([tmp_path])
    assert [d.path for d in docs] == [file.name]


def test_unknown_field_is_an_error_listing_the_allowed_fields(tmp_path: Path) -> None:
    file = _report(tmp_path)
    (tmp_path / "report.meta.json").write_text('{"mayor": "某某"}', encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        read_sidecar(file, tmp_path)
    message = str(caught.value)
    assert "report.meta.json" in message and "mayor" in message
    assert all(field in message for field in FIELDS)
    with pytest.raises(SourceError, match="allowed are title, place, level, year"):
        with_overrides(ReportMeta(), {"city": "x"})


@pytest.mark.parametrize(
    ("name", "content", "complaint"),
    [
        ("report.meta.json", "{not json", "not valid JSON"),
        ("report.meta.json", "[1, 2]", "JSON object"),
        ("report.meta.json", '{"year": "二〇二五"}', "year"),
        ("report.meta.json", '{"level": "planet"}', "level must be one of"),
        ("report.meta.json", '{"date": "2025/01/15"}', "ISO date"),
        ("metadata.csv", "name,year\nreport.txt,2024\n", "'file' or 'path' column"),
        ("metadata.csv", "file,colour\nreport.txt,red\n", "colour"),
    ],
)
def test_bad_sidecars_name_themselves(tmp_path: Path, name: str, content: str, complaint: str) -> None:
    file = _report(tmp_path)
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(SourceError, match=complaint) as caught:
        read_sidecar(file, tmp_path)
    assert name in str(caught.value)


def test_with_overrides_coerces_year_and_takes_the_level_of_a_new_place() -> None:
    meta = extract_metadata("2025年上海市政府工作报告.txt", "各位代表：")
    changed = with_overrides(meta, {"year": " 2024 ", "place": "广西壮族自治区"})
    assert (changed.year, changed.place, changed.level) == (2024, "广西", "autonomous_region")
    assert with_overrides(meta, {"place": "浦东新区", "level": "county"}).level == "county"
    assert with_overrides(meta, {"year": ""}).year is None
