"""Each report's metadata (title, place, year, date, speaker) and the places a question names.

``extract_metadata`` reads the file name, the title line and the opening lines (up to 各位代表);
sidecar files override what it finds: ``metadata.csv`` in the document's folder or any parent up
to the build root (a ``file`` or ``path`` column, one column per field) and ``NAME.meta.json``
beside the document (json wins over csv).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from qa.documents import SIDECAR_CSV, SIDECAR_SUFFIX, SourceError, decode

LEVELS = ("national", "province", "municipality", "autonomous_region", "sar", "city", "county", "")
NATIONAL = "全国"
NATIONAL_ALIASES = (NATIONAL, "国务院", "中国", "我国", "国家")
# Names that stand for the whole country in a question ("国家" alone is too common: 国家级, 国家重点…).
_NATIONAL_IN_TEXT = (NATIONAL, "国务院", "中国", "我国", "中华人民共和国")
_NATIONAL_IN_ENGLISH = ("China", "State Council")
_NATIONAL_BODIES = ("人大", "人民代表大会", "政协", "人民政治协商会议")


@dataclass(frozen=True)
class Place:
    """One of China's 34 provincial-level divisions."""

    full: str  # 内蒙古自治区
    short: str  # 内蒙古 (the canonical name)
    abbr: str  # 蒙
    level: str  # province | municipality | autonomous_region | sar
    english: str  # Inner Mongolia


def _places(level: str, rows: str) -> tuple[Place, ...]:
    out = []
    for row in rows.strip().splitlines():
        full, short, abbr, english = (cell.strip() for cell in row.split("|"))
        out.append(Place(full, short, abbr, level, english))
    return tuple(out)


PLACES: tuple[Place, ...] = (
    _places(
        "municipality",
        """
        北京市 | 北京 | 京 | Beijing
        天津市 | 天津 | 津 | Tianjin
        上海市 | 上海 | 沪 | Shanghai
        重庆市 | 重庆 | 渝 | Chongqing
        """,
    )
    + _places(
        "province",
        """
        河北省 | 河北 | 冀 | Hebei
        山西省 | 山西 | 晋 | Shanxi
        辽宁省 | 辽宁 | 辽 | Liaoning
        吉林省 | 吉林 | 吉 | Jilin
        黑龙江省 | 黑龙江 | 黑 | Heilongjiang
        江苏省 | 江苏 | 苏 | Jiangsu
        浙江省 | 浙江 | 浙 | Zhejiang
        安徽省 | 安徽 | 皖 | Anhui
        福建省 | 福建 | 闽 | Fujian
        江西省 | 江西 | 赣 | Jiangxi
        山东省 | 山东 | 鲁 | Shandong
        河南省 | 河南 | 豫 | Henan
        湖北省 | 湖北 | 鄂 | Hubei
        湖南省 | 湖南 | 湘 | Hunan
        广东省 | 广东 | 粤 | Guangdong
        海南省 | 海南 | 琼 | Hainan
        四川省 | 四川 | 川 | Sichuan
        贵州省 | 贵州 | 黔 | Guizhou
        云南省 | 云南 | 滇 | Yunnan
        陕西省 | 陕西 | 陕 | Shaanxi
        甘肃省 | 甘肃 | 甘 | Gansu
        青海省 | 青海 | 青 | Qinghai
        台湾省 | 台湾 | 台 | Taiwan
        """,
    )
    + _places(
        "autonomous_region",
        """
        内蒙古自治区 | 内蒙古 | 蒙 | Inner Mongolia
        广西壮族自治区 | 广西 | 桂 | Guangxi
        西藏自治区 | 西藏 | 藏 | Tibet
        宁夏回族自治区 | 宁夏 | 宁 | Ningxia
        新疆维吾尔自治区 | 新疆 | 新 | Xinjiang
        """,
    )
    + _places(
        "sar",
        """
        香港特别行政区 | 香港 | 港 | Hong Kong
        澳门特别行政区 | 澳门 | 澳 | Macao
        """,
    )
)
_BY_NAME = {name: p for p in PLACES for name in (p.full, p.short)}
_BY_ABBR = {p.abbr: p for p in PLACES}


@dataclass(frozen=True)
class ReportMeta:
    """What a report is: whose, which year, delivered when and by whom ("" / None when unknown)."""

    title: str = ""  # 2025年上海市政府工作报告
    place: str = ""  # canonical short name: 全国, 上海, 内蒙古, 深圳
    level: str = ""  # one of LEVELS
    year: int | None = None  # the year the report plans (it is delivered early that year)
    date: str = ""  # the day it was delivered, ISO 2025-01-15
    speaker: str = ""  # 龚正
    speaker_title: str = ""  # 市长, 代省长, 自治区主席, 总理

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportMeta:
        return with_overrides(cls(), {k: v for k, v in data.items() if k in FIELDS and v is not None})


FIELDS = tuple(f.name for f in fields(ReportMeta))


# --- places ----------------------------------------------------------------------------------


def place_and_level(name: str) -> tuple[str, str]:
    """The canonical short name and level of a place named any way.

    >>> place_and_level("内蒙古自治区"), place_and_level("国务院"), place_and_level("深圳市")
    (('内蒙古', 'autonomous_region'), ('全国', 'national'), ('深圳', 'city'))
    >>> place_and_level("天津"), place_and_level("定日县")
    (('天津', 'municipality'), ('定日县', 'county'))
    """
    name = name.strip()
    if not name:
        return "", ""
    if name in NATIONAL_ALIASES or name == "中华人民共和国":
        return NATIONAL, "national"
    if name in _BY_NAME:
        return _BY_NAME[name].short, _BY_NAME[name].level
    if name.endswith("市"):
        return (name[:-1] if len(name) > 2 else name), "city"
    if name.endswith(("县", "旗")) or (name.endswith("区") and not name.endswith("自治区")):
        return name, "county"
    return name, "city"


def place_aliases(place: str) -> tuple[str, ...]:
    """Every way a question may name a place: short name, full name, one-character abbreviation.

    >>> place_aliases("浙江"), place_aliases("广西壮族自治区")
    (('浙江', '浙江省', '浙'), ('广西', '广西壮族自治区', '桂'))
    >>> place_aliases("全国"), place_aliases("深圳"), place_aliases("")
    (('全国', '国务院', '中国', '我国', '国家'), ('深圳', '深圳市'), ())
    """
    short, level = place_and_level(place)
    if level == "national":
        return NATIONAL_ALIASES
    if short in _BY_NAME:
        p = _BY_NAME[short]
        return (p.short, p.full, p.abbr)
    if level == "city":
        return (short, short + "市")
    return (short,) if short else ()


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """jieba (word, tag, start) for text."""
    import jieba.posseg

    from qa.text import _jieba

    _jieba()  # initialised once, quietly, under its lock
    out, start = [], 0
    for word, flag in jieba.posseg.lcut(text):
        out.append((word, flag, start))
        start += len(word)
    return out


def _is_city_word(word: str) -> str:
    """The city a jieba place word names ('' when it is no city): 深圳市/深圳 → 深圳; 长江 → ''."""
    import jieba.posseg

    if len(word) >= 3 and word.endswith("市"):
        return word[:-1]
    if len(word) >= 3 and word.endswith(("县", "自治州")):
        return word
    return word if len(word) >= 2 and jieba.posseg.dt.word_tag_tab.get(word + "市") == "ns" else ""


_HAN = re.compile(r"[\u3400-\u9fff]")
_ENGLISH_NAMES = {p.english.lower(): p.short for p in PLACES} | {n.lower(): NATIONAL for n in _NATIONAL_IN_ENGLISH}
_ENGLISH = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(_ENGLISH_NAMES, key=len, reverse=True)) + r")\b")
_NAMES_AT: dict[str, list[str]] = {}  # first character → names starting with it, longest first
for _name in sorted([*_BY_NAME, *_NATIONAL_IN_TEXT], key=len, reverse=True):
    _NAMES_AT.setdefault(_name[0], []).append(_name)


def find_places(text: str) -> tuple[str, ...]:
    """Canonical places a (question) text names, in order of first mention.

    - provincial divisions by full or short name, longest match first, where a jieba word starts
      or ends (黄河南岸 names no 河南); the country (全国, 国务院, 中国, 我国) as whole words only,
      and not in a body's name (中国式, 全国人大);
    - cities by jieba place words that are city names (深圳, 苏州市; not 长江, 中原);
    - English names (Zhejiang, Inner Mongolia, China);
    - a one-character abbreviation only when it stands alone between non-Chinese characters
      (沪、苏、浙); runs such as 京津冀 or 沪苏浙皖 name no place.

    >>> find_places("内蒙古自治区和浙江2025年生产总值目标")
    ('内蒙古', '浙江')
    >>> find_places("深圳市进出口总额"), find_places("京津冀协同发展"), find_places("黄河南岸")
    (('深圳',), (), ())
    >>> find_places("What is Zhejiang's target? 全国呢？")
    ('浙江', '全国')
    """
    from qa.text import normalize

    norm = normalize(text)
    tokens = _tokens(norm)
    bounds = {start for _, _, start in tokens} | {len(norm)}
    found: list[tuple[int, str]] = []
    taken: set[int] = set()
    i = 0
    while i < len(norm):
        for name in _NAMES_AT.get(norm[i], ()):
            end = i + len(name)
            if name in _NATIONAL_IN_TEXT:  # whole words, and not a body's name (全国人大, 全国政协)
                aligned = i in bounds and end in bounds and not norm.startswith(_NATIONAL_BODIES, end)
            else:
                aligned = i in bounds or end in bounds
            if norm.startswith(name, i) and aligned:
                found.append((i, place_and_level(name)[0]))
                taken.update(range(i, end))
                i = end
                break
        else:
            i += 1
    for word, flag, start in tokens:
        if flag == "ns" and not taken.intersection(range(start, start + len(word))):
            city = _is_city_word(word)
            if city and city not in _BY_NAME:
                found.append((start, place_and_level(city)[0]))
    for i, ch in enumerate(norm):
        alone = (i == 0 or not _HAN.match(norm[i - 1])) and (i + 1 == len(norm) or not _HAN.match(norm[i + 1]))
        if ch in _BY_ABBR and alone and i not in taken:
            found.append((i, _BY_ABBR[ch].short))
    found.extend((m.start(), _ENGLISH_NAMES[m.group(1)]) for m in _ENGLISH.finditer(norm))  # norm is lower case
    out: list[str] = []
    for _, place in sorted(found):
        if place not in out:
            out.append(place)
    return tuple(out)


# --- metadata from the text ------------------------------------------------------------------

_TITLE = re.compile(r"^(?:(\d{4})\s*年\s*)?(.{0,20}?)(?:人民)?政府工作报告")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CONGRESS = re.compile(r"在(.{2,12}?)第[一二三四五六七八九十百\d]+届人民代表大会")
_NATIONAL_CONGRESS = re.compile(r"第[一二三四五六七八九十百\d]+届全国人民代表大会|我代表国务院")
_SPEAKER_TITLE = r"(?:代理|代)?(?:省长|市长|主席|区长|县长|州长|盟长)|总理|行政长官"
_NAME = r"(?![在作的同])[\u4e00-\u9fff]{2,6}?(?:[·•．][\u4e00-\u9fff]{1,10})*"
_END = r"(?=同志|作|在|的|，|。|,|\s|$)"
# 省长 王予波 / 自治区人民政府主席王莉霞在… / 北京市市长 殷勇同志作… ; or name first: 龚正市长在…
_TITLE_NAME = re.compile(rf"(?P<title>{_SPEAKER_TITLE})[\s:：]*(?P<name>{_NAME}){_END}")
_NAME_TITLE = re.compile(rf"(?:^|日|[\s—－-])(?P<name>{_NAME})(?P<title>{_SPEAKER_TITLE})(?=在|作|同志)")


def _header(text: str) -> list[str]:
    """The lines before the address (各位代表), where title, date and speaker stand."""
    lines = [line.strip() for line in text[:3000].splitlines()]
    lines = [line for line in lines if line][:16]
    for i, line in enumerate(lines):
        if line.startswith("各位代表"):
            return lines[:i]
    return lines[:6]


def _clean_title(line: str) -> str:
    """A title line without a trailing (全文) / （全文）."""
    return re.sub(r"\s*[（(]\s*全文\s*[)）]\s*$", "", line).strip()


def _title_line(header: list[str]) -> str:
    """The report's title line among the first lines ('' when there is none)."""
    for line in header[:3]:
        match = _TITLE.match(line)
        if match and match.group(2) and len(line) <= 40:
            return _clean_title(line)
    return ""


def _made_title(year: int | None, place: str, level: str) -> str:
    """A title in the usual form, for a report whose text and file name give none."""
    if year is None or not place:
        return ""
    name = {"national": "国务院", "city": place + "市"}.get(level, _BY_NAME[place].full if place in _BY_NAME else place)
    return f"{year}年{name}政府工作报告"


def _place_in(fragment: str) -> str:
    """A place named by a title or congress fragment (only Chinese characters, not too long)."""
    fragment = fragment.strip()
    return fragment if 2 <= len(fragment) <= 12 and all(_HAN.match(c) for c in fragment) else ""


def _speaker(header: list[str]) -> tuple[str, str]:
    for line in header:
        if line.startswith(("来源", "来 源", "作者", "发布")):
            continue
        for pattern in (_TITLE_NAME, _NAME_TITLE):
            match = pattern.search(line)
            if match and not match.group("name").endswith(("人民政府", "政府")):
                return match.group("name"), match.group("title")
    return "", ""


def extract_metadata(path: str, text: str) -> ReportMeta:
    """A report's metadata from its file name, title line and opening lines.

    >>> m = extract_metadata("2017年天津市政府工作报告.txt",
    ...     "2017年天津市政府工作报告(全文)\\n――2017年1月15日在天津市第十六届人民代表大会第六次会议上\\n"
    ...     "天津市市长 王东峰\\n　　各位代表：\\n")
    >>> m.title, m.place, m.level, m.year, m.date, m.speaker, m.speaker_title
    ('2017年天津市政府工作报告', '天津', 'municipality', 2017, '2017-01-15', '王东峰', '市长')
    >>> extract_metadata("2006年国务院政府工作报告.txt", "各位代表，现在，我代表国务院，作政府工作报告。").place
    '全国'
    """
    stem = PurePosixPath(path.replace("\\", "/")).name
    for suffix in (".docx", ".pdf", ".html", ".htm", ".txt", ".md"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    header = _header(text)
    title = _title_line(header) or (_clean_title(stem) if "工作报告" in stem else "")

    year: int | None = None
    place = ""
    for source in (title, stem):
        match = _TITLE.match(source)
        if match:
            year = year or (int(match.group(1)) if match.group(1) else None)
            place = place or _place_in(match.group(2))
    if year is None:
        found = _YEAR.search(title) or _YEAR.search(stem)
        year = int(found.group(1)) if found else None

    day = ""
    for line in header:
        for y, m, d in _DATE.findall(line):
            try:
                day = date(int(y), int(m), int(d)).isoformat()
            except ValueError:
                continue
            break
        if day:
            break
    if year is None and day:
        year = int(day[:4])

    opening = "\n".join(header) + "\n" + text[:600]
    if not place:
        congress = _CONGRESS.search(opening)
        place = _place_in(congress.group(1)) if congress else ""
    if not place and _NATIONAL_CONGRESS.search(opening):
        place = NATIONAL
    if not place:
        from qa.text import home_place

        place = home_place(text)
    place, level = place_and_level(place)

    speaker, speaker_title = _speaker(header)
    if level == "national" and not speaker_title:
        speaker_title = "总理"
    if speaker_title == "主席" and level == "autonomous_region":
        speaker_title = "自治区主席"
    title = title or _made_title(year, place, level) or stem
    return ReportMeta(title, place, level, year, day, speaker, speaker_title)


# --- overrides -------------------------------------------------------------------------------


def with_overrides(meta: ReportMeta, overrides: dict[str, Any]) -> ReportMeta:
    """``meta`` with some fields replaced; a new place without a level brings its own level.

    >>> with_overrides(ReportMeta(title="x"), {"place": "苏州市", "year": "2024"})
    ReportMeta(title='x', place='苏州', level='city', year=2024, date='', speaker='', speaker_title='')
    """
    unknown = sorted(set(overrides) - set(FIELDS))
    if unknown:
        raise SourceError(f"unknown metadata field(s) {', '.join(unknown)}: allowed are {', '.join(FIELDS)}")
    values: dict[str, Any] = {}
    for key, value in overrides.items():
        if key == "year":
            text = "" if value is None else str(value).strip()
            if text and not re.fullmatch(r"\d{4}", text):
                raise SourceError(f"year must be a four-digit year, not {value!r}")
            values["year"] = int(text) if text else None
            continue
        text = "" if value is None else str(value).strip()
        if key == "level" and text not in LEVELS:
            raise SourceError(f"level must be one of {', '.join(repr(v) for v in LEVELS)}, not {value!r}")
        if key == "date" and text:
            try:
                text = date.fromisoformat(text).isoformat()
            except ValueError:
                raise SourceError(f"date must be an ISO date such as 2025-01-15, not {value!r}") from None
        values[key] = text
    if "place" in values:
        place, level = place_and_level(values["place"])
        values["place"] = place
        values.setdefault("level", level)
    return replace(meta, **values)


def _checked(data: dict[str, Any], sidecar: Path) -> dict[str, Any]:
    """Sidecar values, checked field by field; errors name the sidecar."""
    try:
        with_overrides(ReportMeta(), data)
    except SourceError as error:
        raise SourceError(f"{sidecar}: {error}") from None
    return data


def _csv_rows(sidecar: Path) -> list[dict[str, str]]:
    try:
        text = decode(sidecar.read_bytes(), str(sidecar))
        rows = list(csv.DictReader(io.StringIO(text)))
    except (OSError, csv.Error) as error:
        raise SourceError(f"{sidecar}: cannot read ({error})") from None
    if not rows:
        return []
    columns = [(c or "").strip().lower() for c in rows[0]]
    if "file" not in columns and "path" not in columns:
        raise SourceError(f"{sidecar}: needs a 'file' or 'path' column naming each document")
    out = []
    for row in rows:
        if None in row:
            raise SourceError(f"{sidecar}: a row has more cells than the header")
        out.append({(k or "").strip().lower(): (v or "").strip() for k, v in row.items()})
    return out


def _csv_overrides(sidecar: Path, file: Path, root: Path) -> dict[str, Any]:
    """The row of ``sidecar`` for ``file``: by its root-relative path or path from the csv, else by name."""
    wanted = {file.relative_to(sidecar.parent).as_posix()}
    if file.is_relative_to(root):
        wanted.add(file.relative_to(root).as_posix())
    by_path, by_name = [], []
    for row in _csv_rows(sidecar):
        key = (row.get("file") or row.get("path") or "").replace("\\", "/").removeprefix("./")
        if key in wanted:
            by_path.append(row)
        elif key == file.name:
            by_name.append(row)
    matches = by_path or by_name
    if len(matches) > 1:
        raise SourceError(f"{sidecar}: {len(matches)} rows for {file.name}")
    if not matches:
        return {}
    values = {k: v for k, v in matches[0].items() if k not in ("file", "path") and v}
    return _checked(values, sidecar)


def _json_overrides(sidecar: Path) -> dict[str, Any]:
    try:
        data = json.loads(decode(sidecar.read_bytes(), str(sidecar)))
    except (OSError, ValueError) as error:
        raise SourceError(f"{sidecar}: not valid JSON ({' '.join(str(error).split())})") from None
    if not isinstance(data, dict):
        raise SourceError(f"{sidecar}: must hold a JSON object of metadata fields")
    bad = [k for k, v in data.items() if not isinstance(v, str | int | type(None)) or isinstance(v, bool)]
    if bad:
        raise SourceError(f"{sidecar}: {', '.join(bad)} must be a string or a number")
    return _checked(data, sidecar)


def read_sidecar(file: Path, root: Path) -> dict[str, object]:
    """Metadata overrides for one document from its sidecar files (json beside it wins over csv).

    ``metadata.csv`` files are read from ``root`` down to the document's folder (nearer wins);
    then ``STEM.meta.json`` and ``NAME.meta.json`` (the full file name wins).
    """
    file, root = Path(file), Path(root)
    folders = [file.parent]
    if file.is_relative_to(root):
        folders = [root / p for p in reversed(file.parent.relative_to(root).parents)] + folders
    overrides: dict[str, object] = {}
    for folder in dict.fromkeys(folders):
        sidecar = folder / SIDECAR_CSV
        if sidecar.is_file():
            overrides.update(_csv_overrides(sidecar, file, root))
    for name in dict.fromkeys((file.stem + SIDECAR_SUFFIX, file.name + SIDECAR_SUFFIX)):
        sidecar = file.with_name(name)
        if sidecar.is_file():
            overrides.update(_json_overrides(sidecar))
    return overrides


def report_metadata(file: Path, root: Path, text: str) -> ReportMeta:
    """A document's metadata: what its text says, with its sidecars' overrides applied."""
    rel = file.relative_to(root).as_posix() if file.is_relative_to(root) else file.name
    return with_overrides(extract_metadata(rel, text), read_sidecar(file, root))
