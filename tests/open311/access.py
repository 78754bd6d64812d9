"""Open311 routes in the access matrix: no session counts, only a partner's api_key (tests/open311)."""
from tests.accounts.access_matrix import PUBLIC, entry, expect

NO_KEY = expect(403)

ACCESS = {
    ("GET", "/open311/v2/discovery.json"): entry("/open311/v2/discovery.json", answers=PUBLIC),
    ("GET", "/open311/v2/services.xml"): entry("/open311/v2/services.xml", answers=expect(400), why="JSON only"),
    ("GET", "/open311/v2/requests.xml"): entry("/open311/v2/requests.xml", answers=expect(400)),
    ("POST", "/open311/v2/requests.xml"): entry("/open311/v2/requests.xml", data={}, answers=expect(400)),
    ("POST", "/open311/v2/services.xml"): entry("/open311/v2/services.xml", data={}, answers=expect(400)),
    ("GET", "/open311/v2/services.json"): entry("/open311/v2/services.json", answers=PUBLIC,
                                                why="the categories the public report page lists too"),
    ("GET", "/open311/v2/services/{name:str}"): entry("/open311/v2/services/nosuch.json", answers=expect(404)),
    ("GET", "/open311/v2/requests.json"): entry("/open311/v2/requests.json", answers=NO_KEY,
                                                why="a partner's key, never a session, opens the ledger"),
    ("GET", "/open311/v2/requests/{name:str}"): entry(
        "/open311/v2/requests/00000000-0000-4000-8000-000000000000.json", answers=NO_KEY),
    ("POST", "/open311/v2/requests.json"): entry("/open311/v2/requests.json", data={"service_code": "x"},
                                                 answers=NO_KEY),
}
