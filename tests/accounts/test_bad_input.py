"""The administrator's pages with odd filters: a plain message, never a 500."""
import pytest


@pytest.mark.parametrize("query,error", [
    ("who=²", False), ("who=18446744073709551616", False), ("who=%E2%80%AE", False),
    ("from=0001-01-01", True), ("to=9999-12-31", True), ("from=2026-02-30", True), ("to=２０２６-01-01", True),
    ("before=18446744073709551616", False),
])
async def test_it_reads_odd_audit_filters_without_a_500(query, error, people, signed_in_as):
    client = await signed_in_as(people.admin)
    response = await client.get(f"/admin/audit?{query}")
    expected = 200 if not query.startswith("before") else 400
    assert response.status_code == expected, response.text[:300]
    assert ("2026-11-27" in response.text) is error


async def test_it_treats_a_non_ascii_digit_as_no_person_when_inviting(people, signed_in_as):
    from tests.conftest import csrf_headers

    client = await signed_in_as(people.admin)
    response = await client.post("/admin/invites", headers=await csrf_headers(client),
                                 data={"person_id": "²", "role": "leader", "grid": people.microgrid.code})
    assert response.status_code == 404
