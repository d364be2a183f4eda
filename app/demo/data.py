"""Fixed facts of the demo county: organisations named in the report, departments, venues, themes."""

from __future__ import annotations

COUNTY = "宜黄县"
COMMITTEE = "宜黄县产业链综合党委"
PLASTICS = "塑料制品产业链党建联盟"
ELECTRONICS = "电子信息产业链党建联盟"

# (name, short name, alliance, chain leader, party branch)
NAMED_ENTERPRISES = [
    ("江西省立伟轻工制造有限公司", "立伟轻工", PLASTICS, True, "standalone"),
    ("江西洁美电子信息材料有限公司", "洁美电子", ELECTRONICS, True, "standalone"),
    ("江西瑞一韵承科技有限公司", "瑞一韵承", PLASTICS, False, "standalone"),
    ("江西侨富纺织有限公司", "侨富纺织", PLASTICS, False, "joint"),
    ("江西德荣传动科技有限公司", "德荣传动", ELECTRONICS, False, "standalone"),
    ("江西创泰活塞制造有限公司", "创泰活塞", PLASTICS, False, "joint"),
    ("航正新材料有限公司", "航正新材料", PLASTICS, False, "none"),
]
# The report: 85 enterprises on the two chains.
ENTERPRISES_PER_ALLIANCE = {PLASTICS: 60, ELECTRONICS: 25}
# Party branches on the chains: plastics 7 standalone + 5 joint, electronics 3 + 1.
BRANCHES = {PLASTICS: {"standalone": 7, "joint": 5}, ELECTRONICS: {"standalone": 3, "joint": 1}}

PLASTICS_WORDS = ["塑业", "塑胶", "新材料", "包装", "管业", "模具", "轻工", "制品"]
ELECTRONICS_WORDS = ["电子", "光电", "科技", "信息", "电气", "光伏"]
PLACE_WORDS = [
    "宜兴", "黄陂", "凤冈", "棠阴", "东陂", "梨溪", "二都", "中港", "新丰", "神岗",
    "桃陂", "圳口", "南源", "华林", "曹山", "仙岩", "军峰", "石鼓", "龙溪", "双溪",
    "宁安", "和平", "鸿源", "金桥", "恒达", "华信", "永盛", "瑞丰", "博远", "致远",
]

# (name, short name)
DEPARTMENTS = [
    ("国家税务总局宜黄县税务局", "县税务局"),
    ("宜黄县科学技术局", "县科技局"),
    ("宜黄县工业和信息化局", "县工信局"),
    ("宜黄县人力资源和社会保障局", "县人社局"),
    ("宜黄县商务局", "县商务局"),
    ("宜黄县金融工作办公室", "县金融办"),
]

# (name, address, capacity, directions)
VENUES = [
    ("园区党群服务中心一楼会议室", "宜黄县工业园区党群服务中心1楼", 60, "园区管委会东侧，停车场在楼后。"),
    ("产业链综合党委会议室", "宜黄县工业园区管委会3楼", 30, "电梯到3楼左转。"),
    ("企业家之家", "宜黄县工业园区创业大道8号", 20, "园区南门对面，二楼茶室。"),
    ("县政务服务中心报告厅", "宜黄县凤冈镇政务服务中心3楼", 120, "县城中心，公交2路、5路。"),
]

# month → (title, description, lead department short names)
THEMES = {
    1: ("减税退税政策宣讲", "新年度税费优惠政策解读，留抵退税现场辅导。", ["县税务局"]),
    2: ("人才认定与引进", "高层次人才认定、技能人才评价，现场受理。", ["县人社局", "县科技局"]),
    3: ("“两化”融合推进", "工业互联网、数字化车间改造对接。", ["县工信局"]),
    4: ("融资对接", "银企对接，信用贷款与应急转贷。", ["县金融办"]),
    5: ("出口通关便利化", "出口退税、通关手续代办。", ["县商务局", "县税务局"]),
    6: ("安全生产与党员先锋岗", "安全生产月，党员责任区建设。", ["县工信局"]),
    7: ("科技创新与党员创新工作室", "研发费用加计扣除、创新工作室交流。", ["县科技局", "县税务局"]),
    8: ("稳岗就业", "稳岗返还、用工对接。", ["县人社局"]),
    9: ("产业链上下游对接", "链主企业带动配套企业，供需见面。", ["县工信局", "县商务局"]),
    10: ("知识产权与品牌建设", "专利申请、商标注册辅导。", ["县科技局"]),
    11: ("金融惠企政策", "普惠金融、贷款贴息政策宣讲。", ["县金融办"]),
    12: ("年终总结与政策回头看", "一年问题办理情况回访，政策落实回头看。", ["县工信局", "县税务局"]),
}

# Invented people; the surname + given name pairs are generated from these.
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = [
    "建国", "海燕", "志强", "丽华", "文杰", "晓东", "秀英", "国强", "红梅", "俊峰",
    "春花", "永红", "明辉", "雪梅", "立新", "桂兰", "卫东", "小军", "静怡", "子豪",
    "佳琪", "浩然", "思远", "雨欣", "德明", "玉兰", "伟民", "淑珍", "振华", "晓琳",
]

DEMO_PASSWORD = "linghang-demo"
DEMO_ACCOUNTS = [
    # (email, name, organisation, role)
    ("admin@linghang.demo", "系统管理员", COMMITTEE, "admin"),
    ("organiser@linghang.demo", "戴文华", COMMITTEE, "organiser"),
    ("tax@linghang.demo", "邹敏", "国家税务总局宜黄县税务局", "liaison"),
    ("finance@linghang.demo", "黎晓燕", "宜黄县金融工作办公室", "liaison"),
    ("contact@linghang.demo", "温立伟", "江西省立伟轻工制造有限公司", "contact"),
    ("contact2@linghang.demo", "聂春生", "江西创泰活塞制造有限公司", "contact"),
    ("instructor@linghang.demo", "符志勇", COMMITTEE, "instructor"),
]
