"""Training sessions: staff plan them, the audience signs up, checks in once with the code
on the trainer's screen, and answers the quiz once; it shows on the leader's scorecard."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from server.clock import utcnow
from server.training.models import QuizQuestion, TrainingAttendance, TrainingSession
from server.training.sessions import new_code


async def _session(db, people, *, starts=None, role="", community=None) -> TrainingSession:
    s = TrainingSession(owner_path=people.community.path, audience_path=(community or people.community).path,
                        audience_role=role, topic="入户走访技巧", trainer="李老师", place="社区服务站二楼",
                        starts_at=starts or utcnow(), checkin_code=new_code())
    db.add(s)
    await db.commit()
    return s


async def test_staff_plan_a_session_and_the_code_and_qr_are_on_their_screen(db, people, signed_in_as, csrf_headers):
    secretary = await signed_in_as(people.secretary)
    bad = await secretary.post("/training/sessions", headers=await csrf_headers(secretary),
                               data={"topic": "矛盾纠纷调解", "trainer": "", "day": "2031-13-40", "time": "9",
                                     "minutes": "90", "place": "服务站", "audience_role": "leader"})
    assert bad.status_code == 422 and "请填写日期和时间" in bad.text and "矛盾纠纷调解" in bad.text
    made = await secretary.post("/training/sessions", headers=await csrf_headers(secretary), follow_redirects=False,
                                data={"topic": "矛盾纠纷调解", "trainer": "司法所王所长", "day": "2031-03-08",
                                      "time": "14:30", "minutes": "90", "place": "服务站", "audience_role": "leader"})
    assert made.status_code == 303
    s = (await db.execute(sa.select(TrainingSession).where(TrainingSession.topic == "矛盾纠纷调解"))).scalar_one()
    assert (s.audience_path, s.owner_path, s.audience_role) == (people.community.path, people.community.path, "leader")
    assert s.starts_at.replace(tzinfo=None) == __import__("datetime").datetime(2031, 3, 8, 6, 30)  # 14:30 China = 06:30 UTC
    page = await secretary.get(f"/training/sessions/{s.id}")
    assert s.checkin_code in page.text and 'src="data:image/svg+xml' in page.text
    # A leader of the community sees it but not the code; another community's staff do not see it at all.
    leader = await signed_in_as(people.leader)
    seen = await leader.get(f"/training/sessions/{s.id}")
    assert seen.status_code == 200 and "矛盾纠纷调解" in seen.text and s.checkin_code not in seen.text
    assert "矛盾纠纷调解" in (await leader.get("/training/sessions")).text
    other = await signed_in_as(people.other_secretary)
    assert (await other.get(f"/training/sessions/{s.id}")).status_code == 404
    assert "矛盾纠纷调解" not in (await other.get("/training/sessions")).text


async def test_a_leader_checks_in_once_with_the_code(db, people, signed_in_as, csrf_headers):
    s = await _session(db, people)
    leader = await signed_in_as(people.leader)
    signed = await leader.post(f"/training/sessions/{s.id}/signup", headers=await csrf_headers(leader),
                               follow_redirects=False)
    assert signed.status_code == 303
    wrong = await leader.post("/training/checkin", headers=await csrf_headers(leader), data={"code": "ZZZZZZ"})
    assert wrong.status_code == 422 and "没有这个签到码" in wrong.text and "ZZZZZZ" in wrong.text
    # Typed in lower case with a space: still the code.
    typed = s.checkin_code[:3].lower() + " " + s.checkin_code[3:].lower()
    first = await leader.post("/training/checkin", headers=await csrf_headers(leader), data={"code": typed})
    assert first.status_code == 200 and "签到成功" in first.text
    second = await leader.post("/training/checkin", headers=await csrf_headers(leader), data={"code": s.checkin_code})
    assert second.status_code == 200 and "每人只计一次" in second.text
    rows = (await db.execute(sa.select(TrainingAttendance).where(
        TrainingAttendance.session_id == s.id, TrainingAttendance.person_id == people.leader.id))).scalars().all()
    assert len(rows) == 1 and rows[0].checked_in_at is not None and rows[0].signed_up_at is not None
    # The roll on the trainer's screen counts them once.
    secretary = await signed_in_as(people.secretary)
    roll = (await secretary.get(f"/training/sessions/{s.id}")).text
    assert roll.count(people.leader.name) == 1 and "1 / 1" in roll


async def test_the_check_in_is_refused_outside_the_window_and_the_audience(db, people, signed_in_as, csrf_headers):
    later = await _session(db, people, starts=utcnow() + timedelta(days=2))
    leader = await signed_in_as(people.leader)
    early = await leader.post("/training/checkin", headers=await csrf_headers(leader), data={"code": later.checkin_code})
    assert early.status_code == 422 and "开课前一小时" in early.text
    elsewhere = await _session(db, people, community=people.other_community)
    refused = await leader.post("/training/checkin", headers=await csrf_headers(leader),
                                data={"code": elsewhere.checkin_code})
    assert refused.status_code == 422 and "不面向您的岗位或社区" in refused.text
    staff_only = await _session(db, people, role="community")
    assert (await leader.post("/training/checkin", headers=await csrf_headers(leader),
                              data={"code": staff_only.checkin_code})).status_code == 422
    count = (await db.execute(sa.select(sa.func.count()).select_from(TrainingAttendance).where(
        TrainingAttendance.session_id.in_([later.id, elsewhere.id, staff_only.id])))).scalar_one()
    assert count == 0


async def test_two_check_ins_at_once_count_once(db, people, engine):
    """Two phones racing with the same code: one row, one check-in (truly at once on PostgreSQL;
    SQLite serialises writers, so there the second call is the retry after a lost answer)."""
    import asyncio

    from server.db import make_sessionmaker
    from server.training.sessions import check_in
    from tests.conftest import BACKEND

    s = await _session(db, people)

    async def one():
        async with make_sessionmaker(engine)() as session:
            fresh, _ = await check_in(session, await session.get(TrainingSession, s.id), people.neighbour.id)
            await session.commit()
            return fresh

    if BACKEND == "postgresql":
        results = await asyncio.gather(one(), one())
    else:
        results = [await one(), await one()]
    assert sorted(results) == [False, True]
    rows = (await db.execute(sa.select(TrainingAttendance).where(TrainingAttendance.session_id == s.id))).scalars().all()
    assert len(rows) == 1 and rows[0].checked_in_at is not None


async def test_the_quiz_is_answered_once_after_checking_in_and_scored(db, people, signed_in_as, csrf_headers):
    s = await _session(db, people)
    secretary = await signed_in_as(people.secretary)
    missing_answer = await secretary.post(f"/training/sessions/{s.id}/questions", headers=await csrf_headers(secretary),
                                          data={"text": "高龄津贴从几岁起？", "option_0": "70", "option_1": "80"})
    assert missing_answer.status_code == 422 and "高龄津贴从几岁起？" in missing_answer.text
    for text, options, answer in (("高龄津贴从几岁起？", ["70", "80", "90"], "1"), ("走访要记录什么？", ["需求和意见", "身份证号"], "0")):
        data = {"text": text, "answer": answer, **{f"option_{i}": o for i, o in enumerate(options)}}
        assert (await secretary.post(f"/training/sessions/{s.id}/questions", headers=await csrf_headers(secretary),
                                     data=data, follow_redirects=False)).status_code == 303
    questions = (await db.execute(sa.select(QuizQuestion).where(QuizQuestion.session_id == s.id)
                                  .order_by(QuizQuestion.sort_order))).scalars().all()
    assert [q.answer for q in questions] == [1, 0]
    leader = await signed_in_as(people.leader)
    answers = {f"q-{questions[0].id}": "1", f"q-{questions[1].id}": "1"}
    not_yet = await leader.post(f"/training/sessions/{s.id}/quiz", headers=await csrf_headers(leader), data=answers)
    assert not_yet.status_code == 422 and "请先在现场签到" in not_yet.text
    await leader.post("/training/checkin", headers=await csrf_headers(leader), data={"code": s.checkin_code})
    sent = await leader.post(f"/training/sessions/{s.id}/quiz", headers=await csrf_headers(leader), data=answers)
    assert sent.status_code == 200 and "1 / 2" in sent.text
    again = await leader.post(f"/training/sessions/{s.id}/quiz", headers=await csrf_headers(leader),
                              data={f"q-{questions[0].id}": "1", f"q-{questions[1].id}": "0"})
    assert again.status_code == 422 and "已经答过" in again.text
    row = (await db.execute(sa.select(TrainingAttendance).where(
        TrainingAttendance.session_id == s.id, TrainingAttendance.person_id == people.leader.id))).scalar_one()
    assert (row.quiz_score, row.quiz_total) == (1, 2)


async def test_attendance_and_quiz_scores_are_on_the_leaders_scorecard(db, people, signed_in_as, csrf_headers):
    from server.incentives.rules import DEFAULT
    from server.incentives.scorecard import scorecards

    s = await _session(db, people)
    db.add(QuizQuestion(session_id=s.id, sort_order=1, text="题", options=["对", "错"], answer=0))
    await db.commit()
    leader = await signed_in_as(people.leader)
    await leader.post("/training/checkin", headers=await csrf_headers(leader), data={"code": s.checkin_code})
    q = (await db.execute(sa.select(QuizQuestion).where(QuizQuestion.session_id == s.id))).scalar_one()
    await leader.post(f"/training/sessions/{s.id}/quiz", headers=await csrf_headers(leader), data={f"q-{q.id}": "0"})
    cards = await scorecards(db, people.microgrid.path, lambda c: sa.true(), DEFAULT.weights, None)
    [card] = [c for c in cards if c.person_id == people.leader.id]
    assert card.trainings >= 1 and card.quiz_total >= 1 and card.quiz_score >= 1
    secretary = await signed_in_as(people.secretary)
    page = (await secretary.get(f"/scorecards?grid={people.community.code}")).text
    assert 'data-label="培训"' in page and 'data-label="课后小测"' in page
