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
