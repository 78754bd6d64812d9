"""The training materials library: who reads and adds what, and every material kept on the phone."""
from __future__ import annotations

import sqlalchemy as sa

from server.training.models import TrainingMaterial


async def test_staff_add_a_material_leaders_read_it_and_it_is_kept_on_the_phone(db, people, signed_in_as, csrf_headers):
    leader = await signed_in_as(people.leader)
    assert (await leader.post("/training/materials", headers=await csrf_headers(leader),
                              data={"kind": "policy", "title": "x", "body": "y"})).status_code == 403
    secretary = await signed_in_as(people.secretary)
    bad = await secretary.post("/training/materials", headers=await csrf_headers(secretary),
                               data={"kind": "policy", "title": "", "body": "留守儿童关爱政策正文"})
    assert bad.status_code == 422 and "请填写此项" in bad.text and "留守儿童关爱政策正文" in bad.text
    saved = await secretary.post("/training/materials", headers=await csrf_headers(secretary), follow_redirects=False,
                                 data={"kind": "policy", "title": "留守儿童关爱政策", "summary": "社区关爱",
                                       "body": "一、对象：父母均外出务工的未成年人。"})
    assert saved.status_code == 303
    material = (await db.execute(sa.select(TrainingMaterial).where(TrainingMaterial.title == "留守儿童关爱政策"))).scalar_one()
    assert material.owner_path == people.community.path
    leader = await signed_in_as(people.leader)
    page = await leader.get("/training/materials")
    assert "留守儿童关爱政策" in page.text and "高龄津贴申领指南" in page.text
    # The text is in the list for searching offline.
    assert "父母均外出务工的未成年人" in page.text
    assert "一、对象：父母均外出务工的未成年人。" in (await leader.get(f"/training/materials/{material.id}")).text
    kept = (await leader.get("/api/offline-pages")).json()["urls"]
    assert "/training/materials" in kept and f"/training/materials/{material.id}" in kept
    # Another community's leaders do not see it.
    other = await signed_in_as(people.other_secretary)
    assert (await other.get(f"/training/materials/{material.id}")).status_code == 404
    assert "留守儿童关爱政策" not in (await other.get("/training/materials")).text


async def test_the_me_page_leads_to_the_station_and_the_materials(people, signed_in_as):
    leader = await signed_in_as(people.leader)
    page = (await leader.get("/me")).text
    assert 'href="/party"' in page and 'href="/training/materials"' in page and "值班签到" in page
    staff = await signed_in_as(people.property_staff)
    assert 'href="/party"' not in (await staff.get("/me")).text


def _policy_pdf(text: str) -> bytes:
    """A real PDF with Chinese text, made the way the boards are (WeasyPrint, Noto CJK)."""
    from weasyprint import HTML

    return HTML(string=f"<html lang='zh'><body><h1>高龄津贴申领办法</h1><p>{text}</p></body></html>").write_pdf()


async def test_a_material_can_be_a_pdf_searched_by_its_text_and_kept_on_the_phone(db, people, signed_in_as, csrf_headers):
    from server.accounts.models import AuditEntry
    from server.training.models import TrainingMaterialFile

    pdf = _policy_pdf("年满八十周岁的老人可申请高龄津贴")
    secretary = await signed_in_as(people.secretary)
    saved = await secretary.post("/training/materials", headers=await csrf_headers(secretary), follow_redirects=False,
                                 data={"kind": "policy", "title": "高龄津贴办法（原件）"},
                                 files={"pdf": ("高龄津贴.pdf", pdf, "application/pdf")})
    assert saved.status_code == 303, saved.text[:500]
    material = (await db.execute(sa.select(TrainingMaterial).where(TrainingMaterial.title == "高龄津贴办法（原件）"))).scalar_one()
    assert material.pdf_size == len(pdf)
    stored = await db.get(TrainingMaterialFile, material.id)
    assert stored.data == pdf
    # Its text, taken out of the PDF, is what the library searches offline.
    assert "高龄津贴" in material.body and "八十" in material.body
    leader = await signed_in_as(people.leader)
    page = (await leader.get("/training/materials")).text
    assert "年满八十周岁" in page.replace(" ", "")
    shown = await leader.get(f"/training/materials/{material.id}")
    assert f'href="/training/materials/{material.id}/file.pdf"' in shown.text and "打开原件" in shown.text
    got = await leader.get(f"/training/materials/{material.id}/file.pdf")
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf" and got.content == pdf
    kept = (await leader.get("/api/offline-pages")).json()["urls"]
    assert f"/training/materials/{material.id}/file.pdf" in kept
    # Another community's staff do not get it.
    other = await signed_in_as(people.other_secretary)
    assert (await other.get(f"/training/materials/{material.id}/file.pdf")).status_code == 404
    audit = (await db.execute(sa.select(AuditEntry).where(AuditEntry.action == "add_material",
                                                        AuditEntry.object_id == str(material.id)))).scalar_one()
    assert audit is not None


async def test_a_file_that_is_not_a_pdf_is_refused_beside_the_field_and_the_typing_kept(db, people, signed_in_as, csrf_headers):
    secretary = await signed_in_as(people.secretary)
    before = (await db.execute(sa.select(sa.func.count()).select_from(TrainingMaterial))).scalar_one()
    bad = await secretary.post("/training/materials", headers=await csrf_headers(secretary),
                               data={"kind": "policy", "title": "冒充的PDF", "summary": "不该保存"},
                               files={"pdf": ("假的.pdf", b"%PDF-1.7 not really a pdf", "application/pdf")})
    assert bad.status_code == 422 and "这个文件不是能打开的PDF" in bad.text and "冒充的PDF" in bad.text
    empty = await secretary.post("/training/materials", headers=await csrf_headers(secretary),
                                 data={"kind": "policy", "title": "只有标题"})
    assert empty.status_code == 422 and "请填写正文，或者添加PDF原件" in empty.text and "只有标题" in empty.text
    assert (await db.execute(sa.select(sa.func.count()).select_from(TrainingMaterial))).scalar_one() == before


async def test_the_material_form_asks_for_a_title_not_a_job_title(people, signed_in_as):
    # "Title" is 职务 on a person's post and 标题 on a document (pgettext, issue 13).
    page = (await (await signed_in_as(people.secretary)).get("/training/materials")).text
    assert '<label for="f-title">标题' in page.replace("\n", "") or "标题" in page.split('id="f-title"')[0][-200:]
    assert "职务" not in page
