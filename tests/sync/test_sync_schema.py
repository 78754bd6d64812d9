async def test_it_documents_every_record_type_with_its_fields(people, signed_in_as):
    client = await signed_in_as(people.leader)  # the API description is for signed-in people only
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/sync"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    variants = {v["title"]: v for v in body["properties"]["records"]["items"]["oneOf"]}
    assert {"visit", "errand", "mediation", "hazard_check"} <= set(variants)
    visit = variants["visit"]["properties"]["data"]
    assert set(visit["required"]) == {"household_id", "kind"}
    assert set(visit["properties"]["kind"]["enum"]) == {"routine", "care", "policy", "survey"}
    assert visit["properties"]["note"]["maxLength"] == 500
    hazard = variants["hazard_check"]["properties"]["data"]
    assert {"hazard", "place"} <= set(hazard["required"]) and hazard["properties"]["fixed"]["type"] == "boolean"
    assert body["properties"]["records"]["maxItems"] == 500
    response = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert response  # the results shape is documented too


async def test_it_tells_the_outbox_who_is_signed_in(people, signed_in_as):
    client = await signed_in_as(people.leader)
    body = (await client.get("/api/sync")).json()
    assert body["person_id"] == people.leader.id and "visit" in body["types"]
