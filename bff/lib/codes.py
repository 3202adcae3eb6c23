"""Code tables the provincial system checks fields against (SPEC §6), and the transfer flow between two regions.

Unless noted, the tables come from seed 000 (人社厅函〔2021〕156号), 附件2《流动人员人事档案基础信息上报指标库（表）
结构及代码》, section 四、代码表, copied code for code with the names as printed there. The other tables that
section points to (人社厅发〔2018〕102号 附件2《流动人员人事档案基础信息采集规范》) are national standards.
"""

from __future__ import annotations

# 证件类型 AAC043 — seed 000, 附件2 四、代码表, "1-4、3-5、4-5 证件类型 AAC043". "03" reads 中国人员武装警察警官证
# in the source, kept as printed.
AAC043: dict[str, str] = {
    "01": "居民身份证(户口簿)",
    "02": "中国人民解放军军官证",
    "03": "中国人员武装警察警官证",
    "04": "香港特区护照/港澳居民来往内地通行证",
    "05": "澳门特区护照/港澳居民来往内地通行证",
    "06": "台湾居民来往大陆通行证",
    "07": "外国人永久居留证",
    "08": "外国人护照",
    "09": "残疾人证",
    "10": "军烈属证明",
    "11": "外国人就业证",
    "12": "外国专家证",
    "13": "外国人常驻记者证",
    "14": "台港澳人员就业证",
    "15": "回国(来华)定居专家证",
    "90": "社会保障卡",
    "99": "其他身份证证件",
}
ID_CARD = "01"

# 存档状态 ACC74K — seed 000, 附件2 四、代码表, "3-8 存档状态 ACC74K".
ACC74K: dict[str, str] = {"1": "在库", "2": "不在库"}

# 存档性质 ACC749 — seed 000, 附件2 四、代码表, "3-9 存档性质 ACC749".
ACC749: dict[str, str] = {"1": "单位委托", "2": "个人委托", "3": "单纯存档"}
UNIT_ENTRUSTED = "1"

# 接转流向 ACC74D — seed 000, 附件2 四、代码表, "4-8 接转流向 ACC74D".
ACC74D: dict[str, str] = {"1": "地市内转移", "2": "省内转移", "3": "省外转移"}

# 接转类型 ACC74N — seed 000, 附件2 四、代码表, "4-9 接转类型 ACC74N".
ACC74N: dict[str, str] = {"1": "档案转入", "2": "档案转出"}

# 转出原因 ACCA19 — seed 000, 附件2 四、代码表, "4-11 转出原因 ACCA19" (其它 as printed).
ACCA19: dict[str, str] = {
    "01": "系统内调动",
    "02": "系统外调动(升学、入伍、公招、企业)",
    "03": "退休(转社会化管理)",
    "04": "失业(就业转失业)",
    "05": "其它",
}

# 转入原因 ACCA15 — seed 000, 附件2 四、代码表, "4-13 转入原因 ACCA15" (其它 as printed).
ACCA15: dict[str, str] = {
    "01": "系统内调动",
    "02": "系统外调动(学生就业、军人复员退役、公职辞职辞退)",
    "03": "自谋职业(失业转就业)",
    "04": "其它",
}

# 性别 AAC004 — not printed in seed 000: its 附件2 四、代码表 defers to 人社厅发〔2018〕102号 附件2, which uses
# GB/T 2261.1-2003《个人基本信息分类与代码 第1部分：人的性别代码》 (named in SPEC §6). Codes and names as given
# in the project brief; the standard's text is not among the seeds.
GB_T_2261_1: dict[str, str] = {"0": "未知的性别", "1": "男", "2": "女", "9": "未说明的性别"}
MALE = "1"
FEMALE = "2"


def flow_between(region_a: str, region_b: str) -> str:
    """接转流向 ACC74D of a transfer between two 6-digit division codes: same city (first 4 digits) is 1
    地市内转移, same province (first 2) is 2 省内转移, otherwise 3 省外转移. ``ACC74D[code]`` names it."""
    for region in (region_a, region_b):
        if len(region) != 6 or not region.isascii() or not region.isdigit():
            raise ValueError(f"not a 6-digit division code: {region!r}")
    if region_a[:4] == region_b[:4]:
        return "1"
    if region_a[:2] == region_b[:2]:
        return "2"
    return "3"

# 家庭关系 — GB/T 4761-2008《家庭关系代码》, the relations a 亲属关系证明 may state (the two-digit codes of the
# standard; its finer codes such as 11 夫 / 12 妻 or 21 独生子 are folded into their group here).
GB_T_4761: dict[str, str] = {
    "10": "配偶", "20": "子", "30": "女", "51": "父亲", "52": "母亲",
    "71": "兄", "73": "弟", "75": "姐姐", "77": "妹妹",
}
