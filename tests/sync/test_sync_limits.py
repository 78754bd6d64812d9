import json

from tests.conftest import csrf_headers
from tests.sync.helpers import households_of, post_sync, visit


async def test_it_refuses_more_than_500_records_with_413(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    response = await post_sync(client, [visit(household.id) for _ in range(501)])
    assert response.status_code == 413
    assert "500" in response.json()["detail"]


async def test_it_accepts_exactly_500_records(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    households = await households_of(db, people.microgrid)
    response = await post_sync(client, [visit(households[i % len(households)].id) for i in range(500)])
    assert response.status_code == 200
    assert len(response.json()["results"]) == 500


async def test_it_refuses_more_than_5_mb_with_413(db, people, signed_in_as):
    client = await signed_in_as(people.leader)
    household = (await households_of(db, people.microgrid))[0]
    body = json.dumps({"records": [visit(household.id, note="x" * 500) for _ in range(400)], "pad": "y" * 5_300_000})
    headers = {**await csrf_headers(client), "content-type": "application/json"}
    response = await client.post("/api/sync", content=body, headers=headers)
    assert response.status_code == 413
    assert "5 MB" in response.json()["detail"]


async def test_it_answers_400_to_malformed_json(people, signed_in_as):
    client = await signed_in_as(people.leader)
    headers = {**await csrf_headers(client), "content-type": "application/json"}
    for body in ['{"records": [', '[1, 2]', '{"records": "many"}', '']:
        response = await client.post("/api/sync", content=body, headers=headers)
        assert response.status_code == 400, body
        assert "records" in response.json()["detail"]


async def test_it_answers_401_without_a_session(client):
    headers = await csrf_headers(client)
    response = await client.post("/api/sync", json={"records": []}, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")


async def test_it_needs_the_csrf_header(people, signed_in_as):
    client = await signed_in_as(people.leader)
    await csrf_headers(client)
    response = await client.post("/api/sync", json={"records": []})
    assert response.status_code == 403


async def test_it_answers_an_empty_batch_with_no_results(people, signed_in_as):
    client = await signed_in_as(people.leader)
    response = await post_sync(client, [])
    assert response.status_code == 200 and response.json() == {"results": []}
