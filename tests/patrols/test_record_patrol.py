"""Recording a patrol: through the outbox API and through the HTML form, one path in."""
from __future__ import annotations

import uuid

import sqlalchemy as sa

from server.issues.models import Issue, IssueCategory, Source, Status
from server.patrols.models import Patrol, PatrolAnswer
from tests.conftest import csrf_headers

from .conftest import patrol_record, post_sync


async def test_it_stores_a_patrol_and_its_answers_once(db, people, signed_in_as, compound, checklist):
    version_id, items = checklist
    client = await signed_in_as(people.leader)
    record = patrol_record(compound, version_id, items, fail={0: "fixed"})

    first = await post_sync(client, [record])
    again = await post_sync(client, [record])

    assert first.json()["results"] == [{"id": record["id"], "status": "created"}]
    assert again.json()["results"][0]["status"] == "duplicate"
    patrol = await db.get(Patrol, record["id"])
    assert patrol.compound_id == compound.id and patrol.version_id == version_id
    assert (patrol.pass_count, patrol.fail_count, patrol.na_count) == (len(items) - 1, 1, 0)
    assert patrol.participants == [{"role": "owners_rep", "name": "李业主", "person_id": None}]
    count = (await db.execute(sa.select(sa.func.count()).where(PatrolAnswer.patrol_id == record["id"]))).scalar_one()
    assert count == len(items) == 24  # with 查看维护保养记录 (0017)


async def test_it_turns_a_failure_into_a_ledger_problem_linked_to_the_item(db, people, signed_in_as, compound, checklist):
    version_id, items = checklist
    client = await signed_in_as(people.leader)
    fire = next(i for i, item in enumerate(items) if item.key == "fire_lanes")  # 消防通道
    record = patrol_record(compound, version_id, items, fail={fire: "problem"})
    problem_id = record["data"]["answers"][fire]["problem_id"]

    response = await post_sync(client, [record])

    assert response.json()["results"][0]["status"] == "created"
    issue = await db.get(Issue, problem_id)
    category = await db.get(IssueCategory, issue.category_id)
    assert issue.source == Source.patrol and issue.status == Status.reported
    assert issue.node_id == compound.id and category.code == items[fire].category_code == "safety"
    assert items[fire].title in issue.description and "有问题" in issue.description
    answer = (await db.execute(sa.select(PatrolAnswer).where(PatrolAnswer.patrol_id == record["id"],
                                                             PatrolAnswer.item_id == items[fire].id))).scalar_one()
    assert answer.issue_id == problem_id and answer.result == "fail" and not answer.fixed_on_spot


async def test_it_rejects_an_unknown_checklist_version_with_a_reason(db, people, signed_in_as, compound, checklist):
    version_id, items = checklist
    client = await signed_in_as(people.leader)
    record = patrol_record(compound, 987654, items, fail={2: "problem"})

    result = (await post_sync(client, [record])).json()["results"][0]

    assert result["status"] == "rejected"
    assert "987654" in result["errors"]["template_version_id"] and "清单" in result["errors"]["template_version_id"]
    assert await db.get(Patrol, record["id"]) is None
    assert await db.get(Issue, record["data"]["answers"][2]["problem_id"]) is None


async def test_it_rejects_a_failure_neither_fixed_nor_made_a_problem(db, people, signed_in_as, compound, checklist):
    version_id, items = checklist
    client = await signed_in_as(people.leader)
    record = patrol_record(compound, version_id, items, fail={3: "neither", 4: "problem"})

    result = (await post_sync(client, [record])).json()["results"][0]

    assert result["status"] == "rejected" and f"item-{items[3].id}" in result["errors"]
    assert await db.get(Issue, record["data"]["answers"][4]["problem_id"]) is None


async def test_it_rejects_a_patrol_with_items_left_unanswered(db, people, signed_in_as, compound, checklist):
    version_id, items = checklist
    client = await signed_in_as(people.leader)
    record = patrol_record(compound, version_id, items[:22])

    result = (await post_sync(client, [record])).json()["results"][0]

    assert result["status"] == "rejected" and "2" in result["errors"]["answers"]


async def test_it_stores_the_html_form_through_the_same_path(db, people, signed_in_as, compound, checklist):
    version_id, items = checklist
    client = await signed_in_as(people.leader)
    page = await client.get(f"/patrols/compounds/{compound.code}/new")
    assert page.status_code == 200 and "保洁" in page.text and 'data-patrol-form' in page.text
    record_id = str(uuid.uuid4())
    form = {"id": record_id, "compound_id": str(compound.id), "template_version_id": str(version_id),
            "notes": "一切正常", "participant": [str(people.leader.id)],
            "participant_role-%d" % people.leader.id: "leader", "participant_name-%d" % people.leader.id: "x",
            "guest_role-0": "owners_rep", "guest_name-0": "王代表"}
    for item in items:
        form[f"result-{item.id}"] = "pass"
    form[f"result-{items[5].id}"] = "fail"
    form[f"note-{items[5].id}"] = "桶站满溢"
    form[f"handling-{items[5].id}"] = "problem"

    response = await client.post(f"/patrols/compounds/{compound.code}", data=form, headers=await csrf_headers(client),
                                 follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"] == f"/patrols/{record_id}?saved=1"
    patrol = await db.get(Patrol, record_id)
    assert patrol.notes == "一切正常" and patrol.fail_count == 1
    assert {p["name"] for p in patrol.participants} == {people.leader.name, "王代表"}
    answer = (await db.execute(sa.select(PatrolAnswer).where(PatrolAnswer.patrol_id == record_id,
                                                             PatrolAnswer.result == "fail"))).scalar_one()
    issue = await db.get(Issue, answer.issue_id)
    assert issue.source == Source.patrol and "桶站满溢" in issue.description
    report = await client.get(f"/patrols/{record_id}")
    assert report.status_code == 200 and issue.tracking_code in report.text


async def test_it_keeps_what_was_typed_when_the_form_is_incomplete(db, people, signed_in_as, compound, checklist):
    version_id, items = checklist
    client = await signed_in_as(people.leader)
    form = {"compound_id": str(compound.id), "template_version_id": str(version_id), "notes": "没填完",
            f"result-{items[0].id}": "fail", f"note-{items[0].id}": "楼道有垃圾"}

    response = await client.post(f"/patrols/compounds/{compound.code}", data=form, headers=await csrf_headers(client))

    assert response.status_code == 422
    assert "楼道有垃圾" in response.text and "没填完" in response.text and 'role="alert"' in response.text


async def test_it_answers_a_different_patrol_under_a_known_id_as_a_conflict(db, people, signed_in_as, compound, checklist):
    version_id, items = checklist
    client = await signed_in_as(people.leader)
    record = patrol_record(compound, version_id, items)
    await post_sync(client, [record])
    changed = {**record, "data": {**record["data"], "notes": "改过的"}}

    result = (await post_sync(client, [changed])).json()["results"][0]

    assert result["status"] == "conflict"
    await db.refresh(await db.get(Patrol, record["id"]))
    assert (await db.get(Patrol, record["id"])).notes == ""


async def test_it_documents_the_patrol_record_in_the_sync_api(db, people, signed_in_as):
    from server.sync.routes import request_schema

    variants = request_schema()["properties"]["records"]["items"]["oneOf"]
    patrol = next(v for v in variants if v["title"] == "patrol")
    data = patrol["properties"]["data"]
    assert {"compound_id", "template_version_id", "answers"} <= set(data["required"])
    answer = data["properties"]["answers"]["items"]
    assert set(answer["properties"]["result"]["enum"]) == {"pass", "fail", "na"}
    assert "problem_id" in answer["properties"]
