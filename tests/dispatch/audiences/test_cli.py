"""`flask contacts import` and `flask localities ...`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import Contact, ContactImport, ContactList, Locality

DATA = Path(__file__).resolve().parents[2] / "data"


def test_import_creates_the_list_and_prints_the_report(app, backend):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["contacts", "import", str(DATA / "contacts_bad_rows.csv"),
                                 "--list", "Hội viên", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "Created list 'Hội viên'" in result.output
    assert "4 of 12 rows imported (3 new contacts, 1 duplicate rows merged); 8 rows with errors." \
        in result.output
    assert "  warning, line 7, locality: 'Huyện Không Có': unknown locality" in result.output
    assert "Read as UTF-8." in result.output
    assert "  line 3, phone: '0912 34': invalid number" in result.output
    assert "  line 10: '0987654321,Đặng Văn Giang,Huyện Phụng Hiệp,viettel': too few cells" \
        in result.output
    assert "Importing contacts_bad_rows.csv" in result.output  # the progress bar
    contact_list = db.session.scalar(select(ContactList).where(ContactList.name == "Hội viên"))
    assert contact_list is not None
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 3


def test_import_into_an_existing_list_only_when_asked(app, backend, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "one.csv"
    path.write_text("phone\n0912345678\n", encoding="utf-8")
    refused = runner.invoke(args=["contacts", "import", str(path), "--list", "Nope",
                                  "--existing-list"])
    assert refused.exit_code != 0 and "No list named 'Nope'" in refused.output
    assert db.session.scalar(select(func.count()).select_from(ContactList)) == 0


def test_nothing_importable_exits_non_zero(app, backend, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "bad.csv"
    path.write_text("phone\n123\n0292 3812 345\n", encoding="utf-8")
    result = runner.invoke(args=["contacts", "import", str(path), "--list", "L"])
    assert result.exit_code == 1
    assert "Nothing imported" in result.output and "not a mobile number" in result.output
    no_phone = tmp_path / "nophone.csv"
    no_phone.write_text("name\nAn\n", encoding="utf-8")
    result = runner.invoke(args=["contacts", "import", str(no_phone), "--list", "L"])
    assert result.exit_code == 1 and "failed: No phone column" in result.output
    statuses = db.session.scalars(select(ContactImport.status).order_by(ContactImport.id))
    assert list(statuses) == ["failed", "failed"]  # nothing imported is a failure


def test_localities_import_and_list(app, backend, tmp_path):
    path = tmp_path / "localities.csv"
    path.write_text(
        "code,name,kind,parent_code\n"
        "xa-tan-hoa,Xã Tân Hòa,commune,chau-thanh-a\n"
        "chau-thanh-a,Huyện Châu Thành A (mới),district,\n"
        "xa-lac,Xã Lạc,hamlet,\n"
        "xa-mo-coi,Xã Mồ Côi,commune,nowhere\n",
        encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["localities", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 created, 1 updated, 2 errors." in result.output
    assert "line 4: kind 'hamlet'" in result.output
    assert "line 5: unknown parent_code 'nowhere'" in result.output
    commune = db.session.scalar(select(Locality).where(Locality.code == "xa-tan-hoa"))
    assert commune.parent_id == db.session.scalar(
        select(Locality.id).where(Locality.code == "chau-thanh-a"))
    listed = runner.invoke(args=["localities", "list"])
    assert "xa-tan-hoa" in listed.output and "Huyện Châu Thành A (mới)" in listed.output
