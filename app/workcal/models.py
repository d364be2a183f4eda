"""The State Council's holiday arrangement (放假安排) for a year, as an administrator entered it."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.types import UTCDateTime, enum_column
from app.extensions import db


class Festival(enum.StrEnum):
    """The statutory holidays of 《全国年节及纪念日放假办法》, in calendar order, and any other day off."""

    new_year = "new_year"
    spring_festival = "spring_festival"
    qingming = "qingming"
    labour_day = "labour_day"
    dragon_boat = "dragon_boat"
    mid_autumn = "mid_autumn"
    national_day = "national_day"
    other = "other"


FESTIVAL_LABELS = {
    Festival.new_year: _l("New Year's Day"),
    Festival.spring_festival: _l("Spring Festival"),
    Festival.qingming: _l("Qingming Festival"),
    Festival.labour_day: _l("Labour Day"),
    Festival.dragon_boat: _l("Dragon Boat Festival"),
    Festival.mid_autumn: _l("Mid-Autumn Festival"),
    Festival.national_day: _l("National Day"),
    Festival.other: _l("Other day off"),
}


class HolidayArrangement(db.Model):
    """One year's official arrangement: its days off and make-up working days (调休)."""

    __tablename__ = "holiday_arrangement"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    # The notice it was copied from, e.g. 国办发明电〔2026〕7号.
    notice: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    days: Mapped[list[ArrangedDay]] = relationship(
        back_populates="arrangement", cascade="all, delete-orphan", order_by="ArrangedDay.day"
    )


class ArrangedDay(db.Model):
    """A day of an arrangement: a holiday (off) or a make-up working day, with its festival."""

    __tablename__ = "arranged_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    arrangement_id: Mapped[int] = mapped_column(ForeignKey("holiday_arrangement.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    working: Mapped[bool]
    festival: Mapped[Festival] = mapped_column(enum_column(Festival))

    arrangement: Mapped[HolidayArrangement] = relationship(back_populates="days")
