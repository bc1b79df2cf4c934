"""A labelled set of evidence files, rendered here, for the evidence checks' tests and benchmark.

``labelled_set(seed)`` draws a few flagged orders (``orders(seed)``: five physical ones with mixed couriers,
two for virtual goods) and renders evidence files for them the way clients upload them: screenshots and
scans (PNG, JPEG), photos of paper, PDFs with and without a text layer, and chat exports as text in three
encodings. Nothing touches the network or the disk except reading the CJK font; the same seed gives the
same bytes.

Each ``Sample`` carries the order it is filed under and, for every check its kind runs (``CHECKS``), the
finding a correct comparer gives on the file's text:

- ``tracking_number``, ``order_id``: "match" when the order's value is shown as a whole token; "mismatch"
  when a token of the same shape is shown instead (a planted wrong value); "not_found" when neither is
  (chats that never name their order).
- ``courier``: always "match"; a physical document names the order's courier, in Chinese (the order of
  "YTO Express" shows 圆通速递), and no other courier.
- ``delivered_after_order``: always "match"; every date on a physical document is on or after the order.
- ``time_near_order``: always "match"; every date-time on a chat or virtual-goods document is within
  72 hours of the order.
- ``buyer``: always "match"; chats show the buyer handle as their title, virtual-goods documents as the
  buyer's account.
- ``amount``: "match", or "mismatch" when a wrong amount is planted; a virtual-goods document shows
  exactly one amount of money, with two decimals after ¥ or ￥ (and no other number with two decimals).

A planted value replaces the right one everywhere on the document: a tracking number keeps its courier
prefix and differs in 4 to 6 digits, an order id keeps its length and first two digits and differs in
4 to 6 digits, an amount differs by 5.00 to 49.99. ``planted`` names those checks; the others keep "match".
Documents show no other token of the shape of their tracking number or order id: phone numbers are masked
(138****5678), physical documents leave the order id off, and labels are separated from values by a colon.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# fpdf2's font subsetting reports every table it prunes at INFO: not news for anyone.
logging.getLogger("fontTools").setLevel(logging.WARNING)

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
SHANGHAI = ZoneInfo("Asia/Shanghai")

PHYSICAL_KINDS = ("shipping_slip", "signed_delivery", "courier_tracking")
VIRTUAL_KINDS = ("delivery_record", "customer_confirmation")
KINDS = (*PHYSICAL_KINDS, "chat_log", *VIRTUAL_KINDS)
CHECKS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(PHYSICAL_KINDS, ("tracking_number", "courier", "delivered_after_order")),
    "chat_log": ("order_id", "buyer", "time_near_order"),
    **dict.fromkeys(VIRTUAL_KINDS, ("order_id", "buyer", "amount", "time_near_order")),
}
DEGRADATIONS = ("rotated", "blurred", "low_contrast", "photographed")


@dataclass(frozen=True)
class OrderFacts:
    """A flagged order, with the fields the checks compare."""

    platform_order_id: str
    order_time: dt.datetime
    amount: Decimal
    buyer_handle: str
    courier: str
    tracking_number: str
    goods_type: str


@dataclass(frozen=True)
class Sample:
    """One evidence file, the order it is filed under, and the finding each of its kind's checks should give."""

    name: str
    kind: str
    content_type: str
    data: bytes
    order: OrderFacts
    degradation: str
    expected: dict[str, str]
    planted: tuple[str, ...]

    @property
    def degraded(self) -> bool:
        return bool(self.degradation)

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


def labelled_set(seed: int = 17) -> list[Sample]:
    """The labelled samples for ``seed``: 50 images (24 clean, 6 per degradation), 4 PDFs, 3 chat exports."""
    _require_font()
    return [_sample(plan, seed) for plan in _plans(orders(seed))]


def orders(seed: int = 17) -> list[OrderFacts]:
    """The orders the samples are filed under, in the order of ``_ORDER_SPECS``."""
    rng = random.Random(seed)
    return [_order(spec, rng) for spec in _ORDER_SPECS]


# Orders ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _OrderSpec:
    id_length: int  # 19 digits on Taobao and Tmall, 12 on JD
    buyer_handle: str
    courier: str = ""  # as filed on the order; blank for virtual goods
    tracking_prefix: str = ""
    tracking_length: int = 0


_ORDER_SPECS = (
    _OrderSpec(19, "tb_lin2024", "中通快递", "75", 14),
    _OrderSpec(19, "小王同学88", "顺丰速运", "SF", 15),
    _OrderSpec(12, "阿杰Jay", "京东快递", "JDVA", 15),
    _OrderSpec(19, "糖糖mama", "YTO Express", "YT", 15),
    _OrderSpec(19, "momo_1314", "韵达快递", "43", 13),
    _OrderSpec(19, "coco_1999"),
    _OrderSpec(12, "夏天的风"),
)
# How documents name a courier filed under another name.
_COURIER_ON_DOCUMENTS = {"YTO Express": "圆通速递"}


def _order(spec: _OrderSpec, rng: random.Random) -> OrderFacts:
    start = dt.datetime(2026, 10, 20, 9, tzinfo=SHANGHAI)
    order_time = start + dt.timedelta(days=rng.randrange(30), seconds=rng.randrange(13 * 3600))
    cents = rng.randrange(3990, 39990, 10) if spec.courier else rng.randrange(990, 19990, 10)
    tracking = spec.tracking_prefix + _digits(rng, spec.tracking_length - len(spec.tracking_prefix))
    return OrderFacts(
        platform_order_id=rng.choice("234") + _digits(rng, spec.id_length - 1),
        order_time=order_time,
        amount=Decimal(cents).scaleb(-2),
        buyer_handle=spec.buyer_handle,
        courier=spec.courier,
        tracking_number=tracking if spec.courier else "",
        goods_type="physical" if spec.courier else "virtual",
    )


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


# Plans: which files, for which orders, with what planted -------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    name: str
    kind: str
    order: OrderFacts
    output: str  # png, jpeg, pdf (text layer), scan (image-only PDF), utf-8, utf-16, gb18030
    degradation: str
    planted: tuple[str, ...]
    names_order: bool  # whether the document shows the order id (always, except some chats)


_EXTENSIONS = {"png": "png", "jpeg": "jpg", "pdf": "pdf", "scan": "pdf"}
_CHAT_ENCODINGS = ("utf-8", "utf-16", "gb18030")
_VIRTUAL_PLANTS = (("amount",), ("order_id",), ("order_id", "amount"))


def _layout() -> list[tuple[str, str, str]]:
    """(kind, output, degradation) of every sample, in order."""
    clean = [(kind, "jpeg" if i == 2 else "png", "") for kind in KINDS for i in range(4)]
    degraded = [(kind, "jpeg" if d == "photographed" else "png", d) for kind in KINDS for d in DEGRADATIONS]
    pdfs = [
        ("shipping_slip", "pdf", ""),
        ("delivery_record", "pdf", ""),
        ("signed_delivery", "scan", ""),
        ("customer_confirmation", "scan", ""),
    ]
    chats = [("chat_log", encoding, "") for encoding in _CHAT_ENCODINGS]
    return clean + degraded + pdfs + chats


def _plans(all_orders: list[OrderFacts]) -> list[_Plan]:
    """Every third sample has a planted value; orders go round the ones each kind can be filed under."""
    physical = [order for order in all_orders if order.goods_type == "physical"]
    virtual = [order for order in all_orders if order.goods_type == "virtual"]
    eligible = {
        **dict.fromkeys(PHYSICAL_KINDS, physical),
        "chat_log": all_orders,
        **dict.fromkeys(VIRTUAL_KINDS, virtual),
    }
    counts = dict.fromkeys(KINDS, 0)
    planted_counts = dict.fromkeys(KINDS, 0)
    plans = []
    for index, (kind, output, degradation) in enumerate(_layout()):
        number = counts[kind] = counts[kind] + 1
        planted: tuple[str, ...] = ()
        if index % 3 == 1:
            planted = _plant_for(kind, planted_counts[kind])
            planted_counts[kind] += 1
        suffix = f"-{degradation}" if degradation else ""
        extension = _EXTENSIONS.get(output, "txt")
        plans.append(
            _Plan(
                name=f"{kind}-{number:02d}{suffix}.{extension}",
                kind=kind,
                order=eligible[kind][(number - 1) % len(eligible[kind])],
                output=output,
                degradation=degradation,
                planted=planted,
                names_order=kind != "chat_log" or bool(planted) or number % 2 == 1,
            )
        )
    return plans


def _plant_for(kind: str, nth: int) -> tuple[str, ...]:
    if kind in PHYSICAL_KINDS:
        return ("tracking_number",)
    if kind == "chat_log":
        return ("order_id",)
    return _VIRTUAL_PLANTS[nth % len(_VIRTUAL_PLANTS)]


def _expected(plan: _Plan) -> dict[str, str]:
    expected = {check: "mismatch" if check in plan.planted else "match" for check in CHECKS[plan.kind]}
    if not plan.names_order:
        expected["order_id"] = "not_found"
    return expected


# What a document shows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shown:
    """The values one document shows: the order's, except the planted wrong ones."""

    order: OrderFacts
    tracking_number: str
    order_id: str  # blank when the document does not name its order
    amount: Decimal
    courier: str
    receiver: str
    receiver_city: str
    receiver_address: str
    shop: str
    sender_city: str
    sender_address: str
    goods: str


_RECEIVERS = ("张**", "李*", "王**", "陈*", "刘**", "赵*")
_ADDRESSES = (
    ("杭州市", "浙江省杭州市西湖区文三路**号"),
    ("深圳市", "广东省深圳市南山区科技园**栋"),
    ("南京市", "江苏省南京市鼓楼区湖南路**号"),
    ("成都市", "四川省成都市武侯区天府大道**号"),
    ("上海市", "上海市浦东新区张杨路**弄"),
    ("武汉市", "湖北省武汉市洪山区珞喻路**号"),
)
_SHOPS = (
    ("林记潮牌旗舰店", "广州市", "广东省广州市白云区石井街道**号"),
    ("悦享数码专营店", "东莞市", "广东省东莞市长安镇振安路**号"),
    ("小鹿家居生活馆", "金华市", "浙江省金华市义乌市稠城街道**号"),
    ("木子美妆小店", "苏州市", "江苏省苏州市吴中区宝带西路**号"),
)
_PHYSICAL_GOODS = ("服装", "数码配件", "家居用品", "化妆品", "运动鞋")
_VIRTUAL_GOODS = ("腾讯视频VIP会员 月卡", "爱奇艺黄金会员 季卡", "网易云音乐黑胶VIP 年卡", "王者荣耀点券 直充")


def _shown(plan: _Plan, rng: random.Random) -> _Shown:
    """What ``plan``'s document shows; the parties and goods depend on the order only, so its files agree."""
    order = plan.order
    parties = random.Random(order.platform_order_id)
    city, address = parties.choice(_ADDRESSES)
    shop, shop_city, shop_address = parties.choice(_SHOPS)
    goods = parties.choice(_PHYSICAL_GOODS if order.goods_type == "physical" else _VIRTUAL_GOODS)
    tracking = order.tracking_number
    if "tracking_number" in plan.planted:
        tracking = _wrong_digits(tracking, len(tracking.rstrip("0123456789")) or 2, rng)
    order_id = order.platform_order_id if plan.names_order else ""
    if "order_id" in plan.planted:
        order_id = _wrong_digits(order_id, 2, rng)
    amount = _wrong_amount(order.amount, rng) if "amount" in plan.planted else order.amount
    return _Shown(
        order=order,
        tracking_number=tracking,
        order_id=order_id,
        amount=amount,
        courier=_COURIER_ON_DOCUMENTS.get(order.courier, order.courier),
        receiver=parties.choice(_RECEIVERS),
        receiver_city=city,
        receiver_address=address,
        shop=shop,
        sender_city=shop_city,
        sender_address=shop_address,
        goods=goods,
    )


def _wrong_digits(value: str, keep: int, rng: random.Random) -> str:
    """``value`` with 4 to 6 of its digits after the first ``keep`` characters changed."""
    chars = list(value)
    positions = [i for i in range(keep, len(value)) if value[i].isdigit()]
    for i in rng.sample(positions, rng.randint(4, 6)):
        chars[i] = rng.choice([digit for digit in "0123456789" if digit != value[i]])
    return "".join(chars)


def _wrong_amount(amount: Decimal, rng: random.Random) -> Decimal:
    """An amount 5.00 to 49.99 away from ``amount`` whose text does not contain the right one's."""
    while True:
        delta = Decimal(rng.randrange(500, 5000)).scaleb(-2)
        wrong = amount - delta if amount > delta + 1 and rng.random() < 0.5 else amount + delta
        if str(amount) not in str(wrong):
            return wrong


def _masked_phone(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randrange(10)}****{_digits(rng, 4)}"


def _after(moment: dt.datetime, rng: random.Random, low_minutes: int, high_minutes: int) -> dt.datetime:
    return moment + dt.timedelta(seconds=rng.randrange(low_minutes * 60, high_minutes * 60))


def _awake(moment: dt.datetime) -> dt.datetime:
    """``moment``, or if it falls in the small hours, the same minute between 8 and 11 in the morning."""
    return moment if moment.hour >= 8 else moment.replace(hour=8 + moment.hour % 4)


def _chinese_date(moment: dt.datetime) -> str:
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


# Documents as content ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Form:
    """A document of labelled rows under a title: slips, receipts, back-office records, app pages."""

    title: str
    subtitle: str
    rows: list[str]
    issued: dt.datetime  # when the document was made (a PDF's creation date)
    width: int
    barcode: str = ""  # the number printed under a barcode, on shipping slips


@dataclass(frozen=True)
class _Event:
    at: dt.datetime
    status: str
    text: str


@dataclass(frozen=True)
class _Timeline:
    courier: str
    tracking_number: str
    events: list[_Event]  # newest first, as the apps show them


@dataclass(frozen=True)
class _Message:
    at: dt.datetime
    from_buyer: bool
    text: str


@dataclass(frozen=True)
class _Chat:
    buyer: str
    shop: str
    messages: list[_Message]


def _shipping_slip(shown: _Shown, rng: random.Random) -> _Form:
    sent = _awake(_after(shown.order.order_time, rng, 120, 1200))
    return _Form(
        title=shown.courier,
        subtitle="标准快递  电子面单",
        rows=[
            f"运单号：{shown.tracking_number}",
            f"收件人：{shown.receiver}  {_masked_phone(rng)}",
            f"收件地址：{shown.receiver_address}",
            f"寄件人：{shown.shop}  {_masked_phone(rng)}",
            f"寄件地址：{shown.sender_address}",
            f"物品：{shown.goods}  1件    重量：{rng.randint(3, 25) / 10}kg",
            f"寄件时间：{sent:%Y-%m-%d %H:%M}",
        ],
        issued=sent,
        width=1000,
        barcode=shown.tracking_number,
    )


def _signed_delivery(shown: _Shown, rng: random.Random) -> _Form:
    signed = _awake(_after(shown.order.order_time, rng, 24 * 60, 60 * 60))
    return _Form(
        title="签收证明",
        subtitle=f"{shown.courier}  电子签收底单",
        rows=[
            f"运单号：{shown.tracking_number}",
            f"快递公司：{shown.courier}",
            f"收件人：{shown.receiver}",
            f"收件地址：{shown.receiver_address}",
            f"签收人：本人签收（{shown.receiver}）",
            f"派件员：{rng.choice('李王赵孙')}师傅  {_masked_phone(rng)}",
            f"派送网点：{shown.receiver_city}{rng.choice(('城西', '城东', '高新'))}营业部",
            f"签收时间：{signed:%Y/%m/%d %H:%M:%S}",
        ],
        issued=signed,
        width=1080,
    )


def _courier_tracking(shown: _Shown, rng: random.Random) -> _Timeline:
    picked = _awake(_after(shown.order.order_time, rng, 180, 1200))
    moving = _after(picked, rng, 240, 600)
    out = _awake(_after(moving, rng, 480, 1200))
    signed = _awake(_after(out, rng, 60, 300))
    courier, to_city = shown.courier, shown.receiver_city
    return _Timeline(
        courier=courier,
        tracking_number=shown.tracking_number,
        events=[
            _Event(signed, "已签收", f"【{to_city}】您的快件已签收，签收人：本人。感谢使用{courier}，期待再次为您服务"),
            _Event(
                out, "派送中", f"【{to_city}】快递员 {rng.choice('李王赵孙')}师傅（{_masked_phone(rng)}）正在为您派件"
            ),
            _Event(moving, "运输中", f"【{shown.sender_city}】快件已发往 {to_city}转运中心"),
            _Event(picked, "已揽收", f"【{shown.sender_city}】{courier} {shown.sender_city}营业部 已揽收"),
        ],
    )


def _chat(shown: _Shown, rng: random.Random) -> _Chat:
    """A short conversation around the order: a question before it, the order, then delivery."""
    order = shown.order
    naming = [f"订单号：{shown.order_id}"] if shown.order_id else []
    if order.goods_type == "physical":
        talks = [
            (
                _after(order.order_time, rng, -90, -20),
                [(True, "亲，这款还有货吗？"), (False, "亲亲，有货的哦，今天下单今天发～")],
            ),
            (
                _after(order.order_time, rng, 5, 60),
                [
                    (True, "已经拍下了"),
                    *[(True, text) for text in naming],
                    (True, "麻烦尽快发货哈"),
                    (False, "好的亲，已经安排发货了"),
                ],
            ),
            (
                _awake(_after(order.order_time, rng, 20 * 60, 48 * 60)),
                [(True, "收到了，质量很好，谢谢！"), (False, "感谢支持，有问题随时联系哦～")],
            ),
        ]
    else:
        talks = [
            (
                _after(order.order_time, rng, 1, 10),
                [(True, f"我刚拍了{shown.goods}"), *[(True, text) for text in naming], (False, "好的亲，马上为您充值")],
            ),
            (_after(order.order_time, rng, 15, 40), [(False, "已经充值成功了，请查收～"), (True, "到账了，谢谢！")]),
        ]
    messages = []
    for start, lines in talks:
        at = start
        for from_buyer, text in lines:
            messages.append(_Message(at, from_buyer, text))
            at += dt.timedelta(seconds=rng.randrange(15, 100))
    return _Chat(buyer=order.buyer_handle, shop=shown.shop, messages=messages)


def _delivery_record(shown: _Shown, rng: random.Random) -> _Form:
    sent = _after(shown.order.order_time, rng, 1, 20)
    return _Form(
        title="发货记录",
        subtitle=f"{shown.shop}  自动发货",
        rows=[
            f"订单编号：{shown.order_id}",
            f"商品名称：{shown.goods}",
            f"买家账号：{shown.order.buyer_handle}",
            f"充值账号：{_masked_phone(rng)}",
            f"实付金额：¥{shown.amount}",
            "发货方式：自动发货（卡密）",
            f"卡密：{_card_code(rng)}",
            "发货状态：发货成功",
            f"发货时间：{_chinese_date(sent)}",
        ],
        issued=sent,
        width=1200,
    )


def _customer_confirmation(shown: _Shown, rng: random.Random) -> _Form:
    confirmed = _awake(_after(shown.order.order_time, rng, 30, 48 * 60))
    return _Form(
        title="交易成功",
        subtitle="买家已确认收货",
        rows=[
            f"买家：{shown.order.buyer_handle}",
            f"订单编号：{shown.order_id}",
            f"商品：{shown.goods}  ×1",
            f"实付款：￥{shown.amount}",
            f"创建时间：{shown.order.order_time:%Y-%m-%d %H:%M:%S}",
            f"确认收货时间：{confirmed:%Y-%m-%d %H:%M:%S}",
            f"评价：{rng.choice(('已到账，很快，好评！', '秒到账，客服态度好', '充值成功，下次还来'))}",
        ],
        issued=confirmed,
        width=900,
    )


def _card_code(rng: random.Random) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(rng.choice(alphabet) for _ in range(4)) for _ in range(3))


_FORMS: dict[str, Callable[[_Shown, random.Random], _Form]] = {
    "shipping_slip": _shipping_slip,
    "signed_delivery": _signed_delivery,
    "delivery_record": _delivery_record,
    "customer_confirmation": _customer_confirmation,
}


# Drawing -------------------------------------------------------------------------------------------------

_INK = (20, 20, 20)
_GREY = (85, 85, 85)
_ACCENTS = ((232, 84, 30), (0, 110, 190), (40, 150, 90), (200, 30, 50))
_MARGIN = 60
# Runs kept whole when wrapping: numbers, codes, handles, dates.
_UNBREAKABLE = re.compile(r"[A-Za-z0-9_.:/*\-]+|.")


def _require_font() -> None:
    if not CJK_FONT.is_file():
        raise RuntimeError(f"{CJK_FONT} is missing: install the Debian package fonts-wqy-microhei")


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(CJK_FONT), size, index=0)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    if font.getlength(text) <= width:
        return [text]
    lines = [""]
    for unit in _UNBREAKABLE.findall(text):
        if lines[-1] and font.getlength(lines[-1] + unit) > width:
            lines.append(unit.lstrip())
        else:
            lines[-1] += unit
    return lines


def _canvas(width: int, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """A tall canvas to draw on from the top; ``_cropped`` cuts it to what was drawn."""
    return Image.new("RGB", (width, 3000), background)


def _cropped(image: Image.Image, bottom: int) -> Image.Image:
    return image.crop((0, 0, image.width, bottom + _MARGIN))


def _draw_form(form: _Form, rng: random.Random) -> Image.Image:
    image = _canvas(form.width)
    draw = ImageDraw.Draw(image)
    accent = rng.choice(_ACCENTS)
    draw.rectangle((0, 0, form.width, 14), fill=accent)
    y = 50
    draw.text((_MARGIN, y), form.title, font=_font(36), fill=_INK, stroke_width=1, stroke_fill=_INK)
    y += 60
    draw.text((_MARGIN, y), form.subtitle, font=_font(26), fill=_GREY)
    y += 50
    draw.line((_MARGIN, y, form.width - _MARGIN, y), fill=accent, width=3)
    y += 30
    if form.barcode:
        y = _draw_barcode(draw, form.barcode, y, form.width, rng)
    size = rng.randint(26, 32)
    font = _font(size)
    for row in form.rows:
        for line in _wrap(row, font, form.width - 2 * _MARGIN):
            draw.text((_MARGIN, y), line, font=font, fill=_INK)
            y += int(size * 1.5)
        y += int(size * 0.5)
    return _cropped(image, y)


def _draw_barcode(draw: ImageDraw.ImageDraw, number: str, top: int, width: int, rng: random.Random) -> int:
    """Bars across the middle and ``number`` under them; returns the y below."""
    x, right = width // 2 - 300, width // 2 + 300
    while x < right:
        bar = rng.choice((2, 3, 4, 6))
        draw.rectangle((x, top, x + bar - 1, top + 90), fill=(0, 0, 0))
        x += bar + rng.choice((2, 3, 5))
    font = _font(30)
    draw.text((width // 2, top + 105), number, font=font, fill=_INK, anchor="mt")
    return top + 180


def _draw_timeline(timeline: _Timeline, rng: random.Random) -> Image.Image:
    width = 900
    image = _canvas(width)
    draw = ImageDraw.Draw(image)
    draw.text((width // 2, 40), "物流详情", font=_font(34), fill=_INK, anchor="mt")
    y = 120
    draw.rectangle((0, y, width, y + 170), fill=(246, 246, 246))
    draw.text((_MARGIN, y + 30), timeline.courier, font=_font(32), fill=_INK)
    draw.text((_MARGIN, y + 90), f"运单号：{timeline.tracking_number}", font=_font(30), fill=_INK)
    draw.text((width - _MARGIN, y + 95), "复制", font=_font(26), fill=_GREY, anchor="ra")
    y += 220
    size = rng.randint(26, 30)
    text_left, text_width = 120, width - 120 - _MARGIN
    for index, event in enumerate(timeline.events):
        colour = (255, 80, 0) if index == 0 else (190, 190, 190)
        draw.ellipse((66, y + 8, 86, y + 28), fill=colour)
        top = y
        draw.text((text_left, y), event.status, font=_font(size + 2), fill=_INK)
        y += int(size * 1.6)
        for line in _wrap(event.text, _font(size), text_width):
            draw.text((text_left, y), line, font=_font(size), fill=_INK)
            y += int(size * 1.45)
        draw.text((text_left, y), f"{event.at:%Y.%m.%d %H:%M}", font=_font(size - 2), fill=_GREY)
        y += int(size * 2.2)
        if index < len(timeline.events) - 1:
            draw.line((76, top + 34, 76, y), fill=(210, 210, 210), width=2)
    return _cropped(image, y)


def _draw_chat(chat: _Chat, rng: random.Random) -> Image.Image:
    """A chat app screen: the buyer's handle as title, date-time separators, bubbles left (buyer) and right."""
    width = 900
    image = _canvas(width, (237, 237, 237))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 110), fill=(247, 247, 247))
    draw.text((40, 55), "<", font=_font(34), fill=_INK, anchor="lm")
    draw.text((width // 2, 55), chat.buyer, font=_font(34), fill=_INK, anchor="mm")
    buyer_colour, shop_colour = rng.sample(_ACCENTS, 2)
    font = _font(30)
    y, last = 140, None
    for message in chat.messages:
        if last is None or message.at - last > dt.timedelta(minutes=10):
            draw.text((width // 2, y), f"{message.at:%Y-%m-%d %H:%M}", font=_font(26), fill=_GREY, anchor="mt")
            y += 60
        last = message.at
        lines = _wrap(message.text, font, 520)
        bubble_width = max(int(font.getlength(line)) for line in lines) + 48
        bubble_height = len(lines) * 44 + 32
        if message.from_buyer:
            avatar, left, fill, colour = 30, 130, (255, 255, 255), buyer_colour
        else:
            avatar, left, fill, colour = width - 110, width - 130 - bubble_width, (149, 236, 105), shop_colour
        draw.rounded_rectangle((avatar, y, avatar + 80, y + 80), radius=10, fill=colour)
        draw.rounded_rectangle((left, y, left + bubble_width, y + bubble_height), radius=12, fill=fill)
        for row, line in enumerate(lines):
            draw.text((left + 24, y + 16 + row * 44), line, font=font, fill=_INK)
        y += max(bubble_height, 80) + 36
    return _cropped(image, y)


# Degradations ----------------------------------------------------------------------------------------------


def _rotated(image: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.uniform(4, 12) * rng.choice((-1, 1))
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255))


def _blurred(image: Image.Image, rng: random.Random) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(1.6, 2.2)))


def _low_contrast(image: Image.Image, rng: random.Random) -> Image.Image:
    """Black becomes a grey near #a0a0a0 and white a grey near #cccccc, as in a faded thermal print."""
    dark, light = rng.randint(0x9A, 0xA6), rng.randint(0xC8, 0xD0)
    table = [dark + (light - dark) * value // 255 for value in range(256)]
    return image.point(table * 3)


def _photographed(image: Image.Image, rng: random.Random) -> Image.Image:
    """A phone photo of the page: lying askew on a desk, lit from one side, with sensor noise."""
    width, height = image.size

    def out(limit: int) -> float:
        return -rng.uniform(0.02, 0.06) * limit

    quad = (
        *(out(width), out(height)),
        *(out(width), height - out(height)),
        *(width - out(width), height - out(height)),
        *(width - out(width), out(height)),
    )
    warped = image.transform(
        image.size, Image.Transform.QUAD, quad, resample=Image.Resampling.BICUBIC, fillcolor=(96, 86, 74)
    )
    noise = np.random.default_rng(rng.getrandbits(64))
    pixels = np.asarray(warped, dtype=np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    along = (xs / width - 0.5) * np.cos(angle) + (ys / height - 0.5) * np.sin(angle)
    light = 1.0 - rng.uniform(0.18, 0.28) * (along + 0.7)
    tint = np.array([1.0, 0.97, 0.9], dtype=np.float32)
    grain = noise.normal(0, 9, (height, width, 1)).astype(np.float32)
    pixels = pixels * light[..., None] * tint + grain
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


_DEGRADE: dict[str, Callable[[Image.Image, random.Random], Image.Image]] = {
    "": lambda image, _rng: image,
    "rotated": _rotated,
    "blurred": _blurred,
    "low_contrast": _low_contrast,
    "photographed": _photographed,
}


# Files -----------------------------------------------------------------------------------------------------


def _sample(plan: _Plan, seed: int) -> Sample:
    rng = random.Random(f"{seed}:{plan.name}")
    shown = _shown(plan, rng)
    content_type, data = _file(plan, shown, rng)
    return Sample(
        name=plan.name,
        kind=plan.kind,
        content_type=content_type,
        data=data,
        order=plan.order,
        degradation=plan.degradation,
        expected=_expected(plan),
        planted=plan.planted,
    )


def _file(plan: _Plan, shown: _Shown, rng: random.Random) -> tuple[str, bytes]:
    if plan.output in _CHAT_ENCODINGS:
        return "text/plain", _chat_export(_chat(shown, rng), plan.output)
    if plan.output == "pdf":
        return "application/pdf", _text_pdf(_FORMS[plan.kind](shown, rng))
    if plan.output == "scan":
        form = _FORMS[plan.kind](shown, rng)
        return "application/pdf", _scan_pdf(_draw_form(form, rng), form.issued)
    image = _DEGRADE[plan.degradation](_image(plan.kind, shown, rng), rng)
    if plan.output == "jpeg":
        quality = 70 if plan.degradation == "photographed" else 85
        return "image/jpeg", _encoded(image, "JPEG", quality=quality, subsampling=2, optimize=False)
    return "image/png", _encoded(image, "PNG", compress_level=6, optimize=False)


def _image(kind: str, shown: _Shown, rng: random.Random) -> Image.Image:
    if kind == "chat_log":
        return _draw_chat(_chat(shown, rng), rng)
    if kind == "courier_tracking":
        return _draw_timeline(_courier_tracking(shown, rng), rng)
    return _draw_form(_FORMS[kind](shown, rng), rng)


def _encoded(image: Image.Image, format_: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format_, **options)
    return buffer.getvalue()


def _scan_pdf(image: Image.Image, issued: dt.datetime) -> bytes:
    """The document scanned on an A4 page to PDF: one greyscale image at 150 dpi, no text layer."""
    page = Image.new("L", (1240, 1754), 255)
    page.paste(image.convert("L"), (80, 100))
    stamp = time.gmtime(issued.timestamp())
    return _encoded(page, "PDF", resolution=150.0, title="scan", creationDate=stamp, modDate=stamp)


def _text_pdf(form: _Form) -> bytes:
    """An A4 PDF with the form's text as a text layer, in the CJK font."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(form.issued)
    pdf.set_title(form.title)
    pdf.add_font("wqy", fname=CJK_FONT, collection_font_number=0)
    pdf.add_page()
    pdf.set_font("wqy", size=20)
    pdf.cell(text=form.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("wqy", size=11)
    pdf.cell(h=10, text=form.subtitle, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("wqy", size=13)
    for row in form.rows:
        pdf.cell(h=9, text=row, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _chat_export(chat: _Chat, encoding: str) -> bytes:
    """A chat exported as text: WeChat-like lines (UTF-8), Qianniu-like blocks (UTF-16 with BOM, CRLF), GB18030."""
    if encoding == "utf-16":
        blocks = [f"{_speaker(chat, m)} {m.at:%Y-%m-%d %H:%M:%S}\r\n{m.text}\r\n" for m in chat.messages]
        return b"\xff\xfe" + "\r\n".join(blocks).encode("utf-16-le")
    stamp = "%Y/%m/%d %H:%M:%S" if encoding == "gb18030" else "%Y-%m-%d %H:%M:%S"
    lines = [f"{m.at.strftime(stamp)} {_speaker(chat, m)}: {m.text}\n" for m in chat.messages]
    return "".join(lines).encode(encoding)


def _speaker(chat: _Chat, message: _Message) -> str:
    return chat.buyer if message.from_buyer else chat.shop
