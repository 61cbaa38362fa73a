"""Photos on inquiries: only real JPEG/PNG, within the size limit, no bombs,
re-encoded without EXIF (so without the GPS location), served only to the owner."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select

from portal.extensions import db
from portal.inquiries import photos
from portal.inquiries.models import Inquiry, InquiryPhoto
from portal.inquiries.operations import InquiryError
from portal.residents.models import Resident
from tests import factories
from tests.conftest import sign_in

EN = {"Accept-Language": "en"}


def image_bytes(kind: str = "PNG", size=(40, 30), *, gps: bool = False, orientation=None,
                mode: str = "RGB") -> bytes:
    image = Image.new(mode, size, "red" if mode == "RGB" else 0)
    exif = Image.Exif()
    if gps:
        exif[ExifTags.Base.Make] = "PhoneMaker"
        exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N",
                                      ExifTags.GPS.GPSLatitude: (35.0, 40.0, 52.0),
                                      ExifTags.GPS.GPSLongitudeRef: "E",
                                      ExifTags.GPS.GPSLongitude: (139.0, 46.0, 1.0)}
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    out = io.BytesIO()
    image.save(out, format=kind, **({"exif": exif.tobytes()} if len(exif) else {}))
    return out.getvalue()


@pytest.fixture
def me(users, catalogue) -> Resident:
    record = factories.resident(user_id=users["resident"].id)
    db.session.commit()
    return record


def post(client, photo: bytes, name: str = "photo.png", **values):
    data = {"service": "library-loans", "category": "problem", "subject": "Broken shelf",
            "description": "A shelf fell over.", "send": "Send inquiry",
            "photo": (io.BytesIO(photo), name), **values}
    data = {key: value for key, value in data.items() if value is not None}
    return client.post("/inquiries/new", data=data, headers=EN,
                       content_type="multipart/form-data")


def test_a_png_with_gps_is_stored_without_any_exif(resident_client, me):
    original = image_bytes("PNG", gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    response = post(resident_client, original)
    assert response.status_code == 302
    photo = db.session.scalar(select(InquiryPhoto))
    assert photo.content_type == "image/png" and (photo.width, photo.height) == (40, 30)
    assert photo.size == len(photo.data)
    stored = Image.open(io.BytesIO(photo.data))
    assert stored.format == "PNG"
    assert len(stored.getexif()) == 0 and "exif" not in stored.info
    assert b"eXIf" not in photo.data and b"PhoneMaker" not in photo.data


def test_a_jpeg_is_turned_upright_and_loses_its_exif(app, me):
    original = image_bytes("JPEG", size=(40, 30), gps=True, orientation=6)  # rotated 90°
    with app.test_request_context():
        data, content_type, width, height = photos.accept(io.BytesIO(original))
    assert content_type == "image/jpeg" and (width, height) == (30, 40)
    stored = Image.open(io.BytesIO(data))
    assert stored.format == "JPEG" and len(stored.getexif()) == 0
    assert b"Exif" not in data and b"PhoneMaker" not in data


def test_the_owner_sees_the_photo_and_nobody_else(app, resident_client, me, make_user):
    assert post(resident_client, image_bytes("PNG")).status_code == 302
    inquiry = db.session.scalar(select(Inquiry))
    photo = db.session.scalar(select(InquiryPhoto))
    url = f"/inquiries/{inquiry.id}/photos/{photo.id}"
    page = resident_client.get(f"/inquiries/{inquiry.id}", headers=EN).get_data(as_text=True)
    assert f'src="{url}"' in page
    response = resident_client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data == photo.data
    assert "no-store" in response.headers["Cache-Control"]
    other = make_user("resident")
    factories.resident(user_id=other.id)
    db.session.commit()
    assert sign_in(app.test_client(), other).get(url).status_code == 404
    assert app.test_client().get(url).status_code == 302  # to the sign-in page


@pytest.mark.parametrize("content, name, message", [
    (b"%PDF-1.4 not an image at all", "photo.jpg",
     "The file is not a JPEG or PNG image, or it is damaged."),
    (image_bytes("GIF"), "photo.png", "The photo must be a JPEG or PNG image."),
    (image_bytes("PNG")[:60], "photo.png",
     "The file is not a JPEG or PNG image, or it is damaged."),
    (b"", "photo.png", "The photo file is empty."),
    (b"", "", None),  # the file input left empty: no photo
])
def test_a_file_that_is_not_a_photo_is_refused_and_the_text_kept(resident_client, me, content,
                                                                 name, message):
    response = post(resident_client, content, name, subject="Keep this subject")
    if message is None:
        assert response.status_code == 302
        assert db.session.scalar(select(func.count(InquiryPhoto.id))) == 0
        return
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'href="#photo"' in html
    assert 'value="Keep this subject"' in html and "A shelf fell over." in html
    assert db.session.scalar(select(func.count(Inquiry.id))) == 0
    assert db.session.scalar(select(func.count(InquiryPhoto.id))) == 0


def test_an_oversized_photo_is_refused(app, resident_client, me):
    limit = app.config["INQUIRY_PHOTO_MAX_BYTES"]
    app.config["INQUIRY_PHOTO_MAX_BYTES"] = 1000
    try:
        response = post(resident_client, image_bytes("PNG") + b"\0" * 1000)
    finally:
        app.config["INQUIRY_PHOTO_MAX_BYTES"] = limit
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The photo is larger than 1 KB. Choose a smaller photo" in html
    assert 'value="Broken shelf"' in html
    assert db.session.scalar(select(func.count(Inquiry.id))) == 0


def test_a_decompression_bomb_is_refused_before_decoding(app):
    bomb = image_bytes("PNG", size=(8000, 6000), mode="1")  # 48 megapixels, a few kB
    assert len(bomb) < 100_000
    with app.test_request_context(headers=EN), \
            pytest.raises(InquiryError, match="too many pixels"):
        photos.accept(io.BytesIO(bomb))


def test_a_photo_checked_on_the_continue_step_is_kept(resident_client, me):
    response = post(resident_client, image_bytes("PNG"), send=None, check="Continue")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "A photo is attached (40 × 30 pixels)" in html
    kept = html.split('name="kept_photo" type="hidden" value="')[1].split('"')[0]
    assert db.session.scalar(select(func.count(Inquiry.id))) == 0
    data = {"service": "library-loans", "category": "problem", "subject": "Broken shelf",
            "description": "A shelf fell over.", "send": "Send inquiry", "kept_photo": kept}
    assert resident_client.post("/inquiries/new", data=data).status_code == 302
    photo = db.session.scalar(select(InquiryPhoto))
    assert (photo.width, photo.height) == (40, 30)


def test_a_tampered_kept_photo_is_checked_again(resident_client, me):
    data = {"service": "library-loans", "category": "problem", "subject": "Broken shelf",
            "description": "A shelf fell over.", "send": "Send inquiry",
            "kept_photo": "PHNjcmlwdD4="}  # "<script>" in base64
    response = resident_client.post("/inquiries/new", data=data, headers=EN)
    assert response.status_code == 400
    assert "The file is not a JPEG or PNG image" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Inquiry.id))) == 0


def test_a_kept_photo_can_be_removed(resident_client, me):
    html = post(resident_client, image_bytes("PNG"), send=None,
                check="Continue").get_data(as_text=True)
    kept = html.split('name="kept_photo" type="hidden" value="')[1].split('"')[0]
    data = {"service": "library-loans", "category": "problem", "subject": "Broken shelf",
            "description": "A shelf fell over.", "send": "Send inquiry", "kept_photo": kept,
            "remove_photo": "y"}
    assert resident_client.post("/inquiries/new", data=data).status_code == 302
    assert db.session.scalar(select(func.count(Inquiry.id))) == 1
    assert db.session.scalar(select(func.count(InquiryPhoto.id))) == 0
