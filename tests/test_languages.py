"""The one-language checks of the crawl find what they look for, and only that."""

from __future__ import annotations

from tests.languages import catalogue, chinese_in_english, english_in_chinese, page_text

MSGIDS = {"Cancelled": "已取消", "Problem ledger": "问题台账"}


def test_chinese_ui_text_on_an_english_page_is_found():
    assert chinese_in_english("<p>Welcome 欢迎</p>", "") == ["欢迎"]
    assert chinese_in_english("<p>企业家之家（创业大道8号）</p>", "企业家之家\n创业大道8号") == ["企业家之家（创业大道", "号）"]
    assert chinese_in_english('<button title="打印">Print</button>', "") == ["打印"]


def test_names_data_form_values_and_language_names_are_not_ui_text():
    assert chinese_in_english("<p>Host: 县税务局</p>", "宜黄县\n县税务局") == []
    assert chinese_in_english('<input value="减税沙龙"><textarea>议程</textarea><script>"中"</script>', "") == []
    assert chinese_in_english('<html lang="en"><a lang="zh_CN">中文</a></html>', "") == []


def test_untranslated_english_on_a_chinese_page_is_found():
    assert english_in_chinese("<p>活动 Cancelled</p>", "", MSGIDS) == ["Cancelled"]
    assert english_in_chinese('<a aria-label="Problem ledger">台账</a>', "", MSGIDS) == ["Problem ledger"]
    assert english_in_chinese("<p>已取消 · organiser@linghang.demo · IT</p>", "", MSGIDS) == []
    assert english_in_chinese("<p>Cancelled Tea Club</p>", "Cancelled Tea Club", MSGIDS) == []


def test_the_catalogue_gives_the_words_that_differ_in_chinese():
    msgids = catalogue()
    assert msgids["Problem ledger"] and "ID" not in msgids
    assert page_text("<div> a <b>b</b></div>") == ["a", "b"]
