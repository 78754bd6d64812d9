async def test_it_serves_the_service_worker_uncached_with_its_scope(client):
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["service-worker-allowed"] == "/"
    assert "__VERSION__" not in response.text and "/static/js/outbox-core.js?v=" in response.text


async def test_it_serves_an_installable_manifest(client):
    manifest = (await client.get("/manifest.webmanifest")).json()
    assert manifest["name"] == "微网" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/" and manifest["theme_color"]
    sizes = {(i["sizes"], i["purpose"]) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    assert [s["name"] for s in manifest["shortcuts"]] == ["记走访", "报问题"]
    for icon in manifest["icons"]:
        assert (await client.get(icon["src"])).status_code == 200


async def test_it_has_an_offline_page_and_an_outbox_page(client):
    offline = await client.get("/offline")
    outbox = await client.get("/outbox")
    assert offline.status_code == 200 and "您已离线" in offline.text
    assert outbox.status_code == 200 and "data-outbox-list" in outbox.text and "备份到手机" in outbox.text


def test_a_long_list_leaves_every_provider_its_share_of_the_phone():
    from server.sync.pwa import fair_share

    worklist = [f"/households/{i}" for i in range(1000)]
    library = [f"/training/materials/{i}" for i in range(30)]
    forms = ["/allowances/new", "/households/1"]  # a duplicate of the worklist's counts once
    kept = fair_share([worklist, library, forms], 400)
    assert len(kept) == len(set(kept)) == 400
    assert set(library) <= set(kept) and "/allowances/new" in kept  # the short lists whole
    assert kept[:369] == worklist[:369]  # the long list: its first pages, in its order, the rest of the room
    # Two long lists split the room; under the limit nothing is cut.
    other = [f"/tasks/{i}" for i in range(1000)]
    split = fair_share([worklist, other], 400)
    assert sum(u.startswith("/tasks/") for u in split) == 200 == sum(u.startswith("/households/") for u in split)
    assert fair_share([library, forms], 400) == library + forms
    assert fair_share([], 400) == [] and fair_share([worklist], 0) == []
