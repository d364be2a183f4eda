"""Photo uploads: hostile file names, a cap per activity, and photos kept out of shared caches."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.problems.models import ActivityPhoto
from tests import factories

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(client, activity_id: int, name: str, data: bytes = PNG, **kwargs):
    return client.post(
        f"/activities/{activity_id}/photos",
        data={"photo": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        **kwargs,
    )


def photo_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ActivityPhoto))


@pytest.mark.parametrize(
    "name, shown",
    [
        ("合影\x00.png", "合影.png"),
        ("a\r\nContent-Type: text/html.png", None),  # the multipart parser may drop the file
        ("\x1b[31mred\x7f.png", "[31mred.png"),
        ("\u202egnp.exe", "gnp.exe"),
        ("\x00\x01\x02", "photo"),
    ],
)
def test_control_characters_in_a_file_name_never_give_500(app, client, login_as, name, shown):
    activity = factories.activity(status="completed")
    db.session.commit()
    login_as("organiser")
    response = upload(client, activity.id, name)
    if shown:
        assert response.status_code == 302
    else:
        assert response.status_code in (303, 400)  # refused with a message, never a 500
    stored = db.session.scalar(select(ActivityPhoto))
    if shown:
        assert stored.original_name == shown
    page = client.get(f"/activities/{activity.id}/record")
    assert page.status_code == 200


def test_a_raw_nul_byte_in_the_multipart_file_name_never_gives_500(app, client, login_as):
    activity = factories.activity(status="completed")
    db.session.commit()
    login_as("organiser")
    boundary = "linghangboundary"
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="photo"; filename="a\x00b.png"\r\n'
        + b"Content-Type: image/png\r\n\r\n"
        + PNG
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        f"/activities/{activity.id}/photos", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code < 500
    for photo in db.session.scalars(select(ActivityPhoto)):
        assert "\x00" not in photo.original_name


def test_photos_per_activity_are_capped_with_a_translated_message(app, client, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTOS_PER_ACTIVITY", 2)
    activity = factories.activity(status="completed")
    other = factories.activity(status="completed")
    db.session.commit()
    login_as("organiser")
    assert upload(client, activity.id, "1.png").status_code == 302
    assert upload(client, activity.id, "2.png").status_code == 302
    refused = upload(client, activity.id, "3.png", follow_redirects=True)
    assert "每个活动最多上传 2 张照片" in refused.get_data(as_text=True)
    assert photo_count() == 2
    assert upload(client, other.id, "1.png").status_code == 302  # the cap is per activity
    assert photo_count() == 3


def test_access_controlled_photos_are_private_and_not_stored(app, client, login_as):
    activity = factories.activity(status="completed")
    db.session.commit()
    login_as("organiser")
    upload(client, activity.id, "合影.png")
    photo = db.session.scalar(select(ActivityPhoto))
    served = client.get(f"/photos/{photo.id}")
    assert served.status_code == 200
    cache = served.headers["Cache-Control"]
    assert "private" in cache and "no-store" in cache and "public" not in cache
    assert served.headers["X-Content-Type-Options"] == "nosniff"
