"""Finding a department: by name, by pinyin initials (xnk → 心内科… 心血管内科 → xxgnk), or by a body-part
or symptom hint a patient would type (头痛 → 神经内科). The hint table is the hospital's to extend."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pypinyin import Style, lazy_pinyin

from kiosk.domain.schedule import Department

HINTS: dict[str, tuple[str, ...]] = {
    "头痛": ("神经内科",),
    "头晕": ("神经内科", "心血管内科"),
    "失眠": ("神经内科", "中医科"),
    "胸痛": ("心血管内科", "胸外科"),
    "胸闷": ("心血管内科", "呼吸内科"),
    "心慌": ("心血管内科",),
    "血压": ("心血管内科",),
    "咳嗽": ("呼吸内科",),
    "发烧": ("呼吸内科", "感染科"),
    "发热": ("呼吸内科", "感染科"),
    "肚子": ("消化内科", "普通外科"),
    "腹痛": ("消化内科", "普通外科"),
    "胃": ("消化内科",),
    "血糖": ("内分泌科",),
    "糖尿病": ("内分泌科",),
    "甲状腺": ("内分泌科",),
    "腰": ("骨科", "康复医学科"),
    "骨折": ("骨科",),
    "关节": ("骨科", "风湿免疫科"),
    "尿": ("泌尿外科", "肾内科"),
    "眼": ("眼科",),
    "耳": ("耳鼻咽喉科",),
    "鼻": ("耳鼻咽喉科",),
    "喉咙": ("耳鼻咽喉科",),
    "牙": ("口腔科",),
    "皮疹": ("皮肤科",),
    "痒": ("皮肤科",),
    "孩子": ("儿科",),
    "小孩": ("儿科",),
    "怀孕": ("产科",),
    "月经": ("妇科",),
    "headache": ("神经内科",),
    "chest": ("心血管内科",),
    "cough": ("呼吸内科",),
    "fever": ("呼吸内科", "感染科"),
    "stomach": ("消化内科",),
    "eye": ("眼科",),
    "tooth": ("口腔科",),
    "skin": ("皮肤科",),
    "child": ("儿科",),
}


def initials(name: str) -> str:
    """Pinyin initials of a Chinese name, lower case: 神经内科 → sjnk."""
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)).lower()


def bookable(departments: Iterable[Department]) -> list[Department]:
    """The departments a patient books (leaves); a group (parent) only heads its leaves."""
    departments = list(departments)
    parents = {d.parent for d in departments if d.parent is not None}
    return [d for d in departments if d.id not in parents]


def search(departments: Sequence[Department], query: str) -> list[Department]:
    """Bookable departments matching `query`: hints first, then name / English name / initials."""
    leaves = bookable(departments)
    query = query.strip()
    if not query:
        return leaves
    lower = query.lower()
    hinted = [name for hint, names in HINTS.items() if hint in query or hint in lower for name in names]
    found = [d for name in dict.fromkeys(hinted) for d in leaves if d.name == name]
    for d in leaves:
        if d in found:
            continue
        if query in d.name or lower in d.name_en.lower() or initials(d.name).startswith(lower):
            found.append(d)
    return found


def grouped(departments: Sequence[Department], shown: Sequence[Department]) -> list[tuple[str, list[Department]]]:
    """`shown` under their group's name, groups in the HIS's order (departments without a group last)."""
    names = {d.id: d.name for d in departments}
    groups: dict[str, list[Department]] = {}
    for d in shown:
        groups.setdefault(names.get(d.parent or "", ""), []).append(d)
    return sorted(groups.items(), key=lambda item: item[0] == "")
