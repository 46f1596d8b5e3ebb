"""Vocabulary for the demo-data generator: plausible mainland-China customers, appliances,
calls and complaints. Plain tuples, so the generator draws from them without allocating."""

from __future__ import annotations

# Roughly the most common surnames first: the generator weights earlier entries more heavily.
SURNAMES: tuple[str, ...] = (
    *"王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤",
    "欧阳",
    "司马",
    "诸葛",
    "上官",
)

GIVEN_CHARS: tuple[str, ...] = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华建国志红燕玲兰秀珍海文春梅晓东亮婷雪鹏辉"
    "宇浩欣怡佳子涵俊博金凤云飞林斌波宁琳莉萍慧晨阳鑫颖倩彬凯佩嘉瑞琪思颖雅琴"
)

# Two-character given names that read as names rather than random pairs.
GIVEN_NAMES: tuple[str, ...] = (
    "秀英",
    "桂英",
    "秀兰",
    "玉兰",
    "建华",
    "建国",
    "志强",
    "志明",
    "海燕",
    "晓东",
    "晓红",
    "丽娟",
    "文静",
    "春梅",
    "国庆",
    "建军",
    "红梅",
    "雪梅",
    "子涵",
    "浩然",
    "欣怡",
    "梓萱",
    "一鸣",
    "俊杰",
    "思远",
    "佳怡",
    "宇航",
    "雨萱",
    "明轩",
    "嘉怡",
    "国强",
    "德华",
    "淑芬",
)

# Customers who asked to be served in English (expats and visitors).
ENGLISH_NAMES: tuple[str, ...] = (
    "David Smith",
    "Emma Johnson",
    "Michael Brown",
    "Sarah Wilson",
    "James Taylor",
    "Anna Müller",
    "Lucas Martin",
    "Olivia Davies",
    "Daniel Kim",
    "Sophie Laurent",
)

# Mainland mobile prefixes that `phonenumbers` accepts (154 and 194 are unassigned).
MOBILE_PREFIXES: tuple[str, ...] = (
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "195",
    "198",
    "199",
)

# (province, city, landline area code, districts, streets). A municipality repeats its name
# as province and city; the address then names it once, as people write it.
CITIES: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "北京市",
        "北京市",
        "10",
        ("朝阳区", "海淀区", "东城区", "西城区", "丰台区"),
        ("建国路", "中关村大街", "朝阳北路", "西直门外大街", "丰台北路"),
    ),
    (
        "上海市",
        "上海市",
        "21",
        ("浦东新区", "徐汇区", "静安区", "黄浦区", "闵行区"),
        ("世纪大道", "漕溪北路", "南京西路", "淮海中路", "七莘路"),
    ),
    ("天津市", "天津市", "22", ("和平区", "南开区", "河西区"), ("南京路", "卫津路", "友谊路")),
    (
        "重庆市",
        "重庆市",
        "23",
        ("渝中区", "江北区", "南岸区"),
        ("解放碑步行街", "观音桥步行街", "南坪正街"),
    ),
    (
        "广东省",
        "广州市",
        "20",
        ("天河区", "越秀区", "海珠区", "白云区"),
        ("天河路", "中山五路", "江南大道中", "白云大道北"),
    ),
    (
        "广东省",
        "深圳市",
        "755",
        ("南山区", "福田区", "罗湖区", "宝安区"),
        ("科技园路", "深南大道", "东门中路", "新安六路"),
    ),
    (
        "浙江省",
        "杭州市",
        "571",
        ("西湖区", "上城区", "拱墅区", "滨江区"),
        ("文三路", "延安路", "莫干山路", "江南大道"),
    ),
    ("江苏省", "南京市", "25", ("鼓楼区", "玄武区", "秦淮区"), ("中山路", "北京东路", "中华路")),
    ("江苏省", "苏州市", "512", ("姑苏区", "工业园区"), ("人民路", "星湖街")),
    ("四川省", "成都市", "28", ("武侯区", "锦江区", "青羊区"), ("人民南路", "春熙路", "蜀都大道")),
    ("湖北省", "武汉市", "27", ("武昌区", "江汉区", "洪山区"), ("中南路", "解放大道", "珞喻路")),
    ("陕西省", "西安市", "29", ("雁塔区", "碑林区", "未央区"), ("长安南路", "东大街", "凤城八路")),
    ("山东省", "济南市", "531", ("历下区", "市中区"), ("泉城路", "经十路")),
    ("山东省", "青岛市", "532", ("市南区", "崂山区"), ("香港中路", "海尔路")),
    ("河南省", "郑州市", "371", ("金水区", "二七区"), ("花园路", "大学路")),
    ("湖南省", "长沙市", "731", ("岳麓区", "芙蓉区"), ("麓山南路", "五一大道")),
    ("辽宁省", "沈阳市", "24", ("和平区", "沈河区"), ("太原街", "青年大街")),
)

# First digit of an eight-digit landline local number that `phonenumbers` accepts everywhere
# above (Beijing's 8xxxxxxx block is not a fixed line).
LANDLINE_FIRST_DIGITS = "234567"

SPECIAL_NEEDS: tuple[str, ...] = (
    "听力不好，请放慢语速",
    "听力不好，请大声一点说话",
    "视力不好，短信请用大字",
    "行动不便，上门请提前一小时电话联系",
    "只在下午接电话",
    "老人独居，重要事项请联系其子女",
    "需要粤语沟通",
    "腿脚不便，安装请上门搬运",
)

# (product, model-code templates, serial prefix). In a template '#' is a digit, '@' a letter.
PRODUCTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("空调", ("KFR-35GW/BP3DN8Y-PH##", "KFR-72LW/NhGm1BAj", "KFR-26GW/N8##A1"), "AC"),
    ("冰箱", ("BCD-516WKPZM(E)", "BCD-###WPCX", "BCD-470W@FPZM"), "RF"),
    ("洗衣机", ("XQG100-BD14376L", "XQG##-B1@26", "EG10014B39GU1"), "WM"),
    ("电视机", ("##E3H", "L##M7-A2", "##Q8F"), "TV"),
    ("热水器", ("JSQ30-16WH5D", "EWH-60E#", "ES60H-@##"), "WH"),
    ("微波炉", ("M1-L213B", "EG8MEA-DS", "M3-L2##C"), "MW"),
    ("油烟机", ("CXW-260-E900C15", "CXW-###-TJ9#"), "RH"),
    ("燃气灶", ("JZT-Q218B", "JZY-@##"), "GS"),
    ("洗碗机", ("WQP12-7605", "JWV8-Q##"), "DW"),
    ("净水器", ("MRO1891-1000G", "CR400-N#"), "WP"),
)

PURCHASE_NOTES: tuple[str, ...] = (
    "京东自营购买",
    "门店购买，含安装",
    "以旧换新",
    "天猫旗舰店购买",
    "团购，开具增值税发票",
)

PROMISES: tuple[str, ...] = (
    "承诺赠送两张金卡",
    "承诺48小时内上门维修",
    "承诺三个工作日内回电",
    "承诺免费延保一年",
    "承诺更换新机",
    "承诺退还安装费200元",
    "承诺赠送清洗服务一次",
    "承诺下周一前送达配件",
)

# (code, note templates); '{p}' is the product the call was about.
WRAP_UPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("inquiry", ("咨询{p}使用方法，已解答", "询问{p}保修期，已告知", "咨询以旧换新政策")),
    ("repair_booking", ("{p}不工作，已预约上门维修", "{p}有异响，已派单", "{p}漏水，预约明天上午")),
    ("installation", ("预约{p}安装，周六下午", "{p}移机，已登记")),
    ("warranty", ("{p}过保，已告知收费标准", "查询{p}延保，已说明")),
    ("follow_up", ("维修回访，客户满意", "回访未果，客户未接通后回拨")),
    ("other", ("打错电话", "咨询门店地址")),
)
COMPLAINT_WRAP_UP = "complaint"
OUTBOUND_WRAP_UP = "follow_up"  # the desk called the customer back

DNIS = "+864008001234"  # the hotline every inbound demo call rings

PROMPTS: tuple[str, ...] = (
    "greeting",
    "verify_identity",
    "warranty_check",
    "repair_booking",
    "empathy",
    "closing",
)
COACHING: tuple[tuple[str, str], ...] = (
    ("不知道", "我帮您确认一下"),
    ("没办法", "我们看看还能怎么处理"),
    ("你听我说", "请允许我解释一下"),
)
HOLD_REASONS: tuple[str, ...] = ("查询系统", "咨询班长", "查询库存")

COMPLAINT_CATEGORIES: tuple[str, ...] = (
    "product_quality",
    "repair",
    "delivery",
    "installation",
    "staff_attitude",
    "billing",
    "other",
)
COMPLAINT_TEXT: dict[str, tuple[tuple[str, str], ...]] = {
    "product_quality": (
        ("{p}使用不到一个月就坏了", "要求换新机"),
        ("{p}噪音很大，影响休息", "要求检测并维修"),
    ),
    "repair": (
        ("{p}维修三次仍未修好", "要求退货"),
        ("维修师傅迟到两个小时", "要求道歉并减免上门费"),
    ),
    "delivery": (("{p}送货延误一周", "要求尽快送达并补偿"), ("{p}送到时外包装破损", "要求换货")),
    "installation": (
        ("{p}安装后漏水，地板被泡坏", "要求赔偿地板损失"),
        ("安装师傅额外收取材料费", "要求退还材料费"),
    ),
    "staff_attitude": (
        ("客服态度差，中途挂断电话", "要求道歉"),
        ("上门师傅说话不礼貌", "要求公司给说法"),
    ),
    "billing": (("{p}延保费用重复扣款", "要求退款"), ("发票金额与实付不一致", "要求重开发票")),
    "other": (("多次来电无人接听", "要求专人回电"), ("促销赠品一直未收到", "要求补发赠品")),
}
DEPARTMENTS: dict[str, str] = {
    "product_quality": "质量部",
    "repair": "售后服务部",
    "delivery": "物流部",
    "installation": "安装部",
    "staff_attitude": "客服部",
    "billing": "财务部",
    "other": "客服部",
}
ASSIGNEES: tuple[str, ...] = ("刘工", "周经理", "孙主管", "何专员", "郑师傅")
SEVERITIES: tuple[str, ...] = ("low", "normal", "normal", "normal", "high", "urgent")

# The complaint workflow in order; a complaint's audit trail walks it up to its status.
COMPLAINT_FLOW: tuple[str, ...] = (
    "received",
    "assigned",
    "in_progress",
    "customer_informed",
    "resolved",
    "closed",
)
COMPLAINT_ACTIONS: dict[str, str] = {
    "received": "created",
    "assigned": "assigned",
    "in_progress": "work_started",
    "customer_informed": "customer_informed",
    "resolved": "resolved",
    "closed": "closed",
}
