"""Holidays without the database: computed from the law for any year, or the holiday package's official data.

《全国年节及纪念日放假办法》 (2024 revision, in force since 2025) fixes the statutory days: 元旦 1 January,
春节 four days from 除夕 (the last day of the twelfth lunar month) to the third day of the first month,
清明 the day of the Qingming solar term, 劳动节 1–2 May, 端午 the 5th of the fifth lunar month,
中秋 the 15th of the eighth lunar month, 国庆 1–3 October. Lunar dates and the solar term come from
lunar-python (astronomical computation, no year table). Only the make-up working days (调休) and the
days off that bridge to a weekend wait for the State Council's yearly notice; chinese-calendar holds
those notices for the years it knows. Years before 2025 followed older rules, but the package knows them.
"""

from __future__ import annotations

from datetime import date, timedelta

from chinese_calendar import constants as official
from lunar_python import Lunar

from app.workcal.models import Festival

PACKAGE_FESTIVALS = {
    official.Holiday.new_years_day.value: Festival.new_year,
    official.Holiday.spring_festival.value: Festival.spring_festival,
    official.Holiday.tomb_sweeping_day.value: Festival.qingming,
    official.Holiday.labour_day.value: Festival.labour_day,
    official.Holiday.dragon_boat_festival.value: Festival.dragon_boat,
    official.Holiday.mid_autumn_festival.value: Festival.mid_autumn,
    official.Holiday.national_day.value: Festival.national_day,
}
PACKAGE_YEARS = frozenset(day.year for day in official.holidays)

Days = dict[date, Festival]


def _lunar_to_solar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def qingming(year: int) -> date:
    """The day of the Qingming solar term (清明) in Beijing time."""
    solar = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def statutory_holidays(year: int) -> Days:
    """The statutory days off of a year under the 2024 revision of the law, with their festival."""
    new_year_eve = _lunar_to_solar(year, 1, 1) - timedelta(days=1)  # 除夕, whether the 29th or the 30th
    days: Days = {date(year, 1, 1): Festival.new_year}
    days.update({new_year_eve + timedelta(days=n): Festival.spring_festival for n in range(4)})
    days[qingming(year)] = Festival.qingming
    days.update({date(year, 5, n): Festival.labour_day for n in (1, 2)})
    days[_lunar_to_solar(year, 5, 5)] = Festival.dragon_boat
    days[_lunar_to_solar(year, 8, 15)] = Festival.mid_autumn
    # 中秋 can fall within 1–3 October (2025: 6 October, 2028: 3 October): National Day keeps its days.
    days.update({date(year, 10, n): Festival.national_day for n in (1, 2, 3)})
    return dict(sorted(days.items()))


def package_year(year: int) -> tuple[Days, Days] | None:
    """(days off, make-up working days) of the State Council's notice in chinese-calendar, or None."""
    if year not in PACKAGE_YEARS:
        return None

    def of_year(table: dict) -> Days:
        return {
            day: PACKAGE_FESTIVALS.get(str(getattr(name, "value", name)), Festival.other)
            for day, name in sorted(table.items())
            if day.year == year
        }

    return of_year(official.holidays), of_year(official.workdays)
