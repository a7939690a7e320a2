"""The local Hub speaks the Hub's HTTP API: raw requests here, the real huggingface_hub client in a child
process (tests/builders/test_publish.py has the full publish / load_dataset round trip)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from curation.testing.hub_server import LocalHub

TOKEN = "hf_serverTestToken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOOD_CARD = """---
license: mit
language: [en]
configs:
- config_name: default
  default: true
  data_files:
  - split: train
    path: data/*.parquet
- config_name: raw
  data_files: raw/*.parquet
---
# A card
"""

DATASET_INFO = """dataset_info:
  features:
  - name: text
    dtype: string
  splits:
  - name: train
    num_bytes: 70
    num_examples: 7
"""


def with_metadata(extra: str) -> str:
    """GOOD_CARD with more YAML metadata lines at the end of its front matter."""
    return GOOD_CARD.replace("---\n# A card", extra.rstrip("\n") + "\n---\n# A card")


def test_a_card_with_licence_fields_and_dataset_info_validates(client: httpx.Client):
    card = with_metadata("license_name: public-domain\nlicense_link: LICENSE\n" + DATASET_INFO)

    response = client.post("/api/validate-yaml", json={"content": card, "repoType": "dataset"})

    assert response.status_code == 200, response.text


@pytest.fixture
def hub(tmp_path: Path):
    with LocalHub(tmp_path / "hub", token=TOKEN, page_size=2) as hub:
        yield hub


@pytest.fixture
def client(hub: LocalHub):
    with httpx.Client(base_url=hub.endpoint, headers=AUTH) as client:
        yield client


def create_dataset(client: httpx.Client, name: str = "poems", private: bool = False) -> str:
    response = client.post("/api/repos/create", json={"name": name, "organization": "me", "type": "dataset",
                                                      "private": private})
    assert response.status_code == 200, response.text
    return f"me/{name}"


def commit(client: httpx.Client, repo: str, revision: str, *operations: dict, parent: str | None = None):
    header = {"summary": "test commit"} | ({"parentCommit": parent} if parent else {})
    lines = [{"key": "header", "value": header}, *operations]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    return client.post(f"/api/datasets/{repo}/commit/{revision}", content=body,
                       headers={"Content-Type": "application/x-ndjson"})


def regular_file(path: str, content: bytes) -> dict:
    return {"key": "file", "value": {"path": path, "content": base64.b64encode(content).decode(),
                                     "encoding": "base64"}}


def test_a_well_formed_dataset_card_validates(client: httpx.Client):
    response = client.post("/api/validate-yaml", json={"content": GOOD_CARD, "repoType": "dataset"})

    assert response.status_code == 200
    assert response.json() == {"errors": [], "warnings": []}


@pytest.mark.parametrize(("broken", "message"), [
    (GOOD_CARD.replace("license: mit", "license: [mit"), "Invalid YAML"),
    (GOOD_CARD.replace("license: mit", "license: {name: mit}"), '"license" must be a string'),
    (GOOD_CARD.replace("config_name: raw", "config_name: default"), '"default" is not unique'),
    (GOOD_CARD.replace("- config_name: raw", "- name: raw"), "configs[1].config_name"),
    (GOOD_CARD.replace("    path: data/*.parquet\n", ""), "configs[0].data_files[0].path"),
    (GOOD_CARD.replace("split: train", "split: train set"), "configs[0].data_files[0].split"),
    (GOOD_CARD.replace("default: true", "default: yes please"), "configs[0].default"),
    ("---\n- just\n- a list\n---\n", "must be a YAML mapping"),
    (with_metadata("license_name: Public Domain"), '"license_name" must be'),
    (with_metadata("license_link: [a, b]"), '"license_link" must be a string'),
    (with_metadata(DATASET_INFO.replace("7", "seven")), "dataset_info[0].splits[0]"),
    (with_metadata("dataset_info:\n  features: text\n"), "dataset_info[0].features"),
])
def test_a_malformed_card_is_rejected_with_the_reason(client: httpx.Client, broken: str, message: str):
    response = client.post("/api/validate-yaml", json={"content": broken, "repoType": "dataset"})

    assert response.status_code == 400
    assert message in " ".join(error["message"] for error in response.json()["errors"])


def test_a_card_without_metadata_only_warns(client: httpx.Client):
    response = client.post("/api/validate-yaml", json={"content": "# Just a title\n", "repoType": "dataset"})

    assert response.status_code == 200
    assert response.json()["warnings"] == [{"message": "Empty or missing yaml metadata in repo card"}]


def test_url_encoded_branches_and_commit_ids_resolve(client: httpx.Client):
    repo = create_dataset(client)
    assert client.post(f"/api/datasets/{repo}/branch/feature%2Fsmall", json={}).status_code == 200
    head = commit(client, repo, "feature%2Fsmall", regular_file("notes/a.txt", b"hello")).json()["commitOid"]

    by_branch = client.get(f"/datasets/{repo}/resolve/feature%2Fsmall/notes/a.txt")
    by_commit = client.head(f"/datasets/{repo}/resolve/{head}/notes/a.txt")
    info = client.get(f"/api/datasets/{repo}/revision/feature%2Fsmall").json()

    assert by_branch.content == b"hello" and by_branch.headers["X-Repo-Commit"] == head
    assert by_commit.headers["Content-Length"] == "5" and by_commit.headers["X-Repo-Commit"] == head
    assert by_commit.headers["ETag"] == f'"{hashlib.sha1(b"blob 5" + bytes([0]) + b"hello").hexdigest()}"'
    assert info["sha"] == head
    assert [s["rfilename"] for s in info["siblings"]] == [".gitattributes", "notes/a.txt"]
    assert client.get(f"/datasets/{repo}/resolve/main/notes/a.txt").headers["X-Error-Code"] == "EntryNotFound"
    for missing in ("nope", "refs%2Fconvert%2Fparquet"):
        response = client.get(f"/api/datasets/{repo}/revision/{missing}")
        assert response.headers["X-Error-Code"] == "RevisionNotFound"
    assert client.post(f"/api/datasets/{repo}/branch/feature%2Fsmall", json={}).status_code == 409


def test_lfs_objects_are_uploaded_once_checked_and_served_by_range(client: httpx.Client, hub: LocalHub):
    repo = create_dataset(client)
    content = bytes(range(256)) * 40
    oid = hashlib.sha256(content).hexdigest()
    batch = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(content)}]}

    href = client.post(f"/datasets/{repo}.git/info/lfs/objects/batch", json=batch).json()["objects"][0][
        "actions"]["upload"]["href"]
    assert httpx.put(href, content=content[:-1]).status_code == 400
    assert httpx.put(href, content=iter([content[:100], content[100:]])).status_code == 200  # chunked
    assert "actions" not in client.post(f"/datasets/{repo}.git/info/lfs/objects/batch", json=batch).json()[
        "objects"][0]
    lfs_file = {"key": "lfsFile", "value": {"path": "data/x.parquet", "algo": "sha256", "oid": oid}}
    assert commit(client, repo, "main", lfs_file).status_code == 200

    head = client.head(f"/datasets/{repo}/resolve/main/data/x.parquet")
    part = client.get(f"/datasets/{repo}/resolve/main/data/x.parquet", headers={"Range": "bytes=10-19"})
    assert head.headers["X-Linked-Etag"] == f'"{oid}"' and head.headers["X-Linked-Size"] == str(len(content))
    assert part.status_code == 206 and part.content == content[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(content)}"
    assert hub.files(repo, "main")["data/x.parquet"] == content


def test_commits_are_refused_for_missing_objects_and_stale_parents(client: httpx.Client):
    repo = create_dataset(client)
    first = client.get(f"/api/datasets/{repo}").json()["sha"]
    commit(client, repo, "main", regular_file("a.txt", b"a"))
    missing = {"key": "lfsFile", "value": {"path": "big.bin", "algo": "sha256", "oid": "0" * 64}}

    assert commit(client, repo, "main", missing).status_code == 422
    assert commit(client, repo, "main", regular_file("b.txt", b"b"), parent=first).status_code == 412
    no_branch = commit(client, repo, "nope", regular_file("b.txt", b"b"))
    assert no_branch.headers["X-Error-Code"] == "RevisionNotFound"


def test_preupload_reports_upload_modes_and_the_remote_oids(client: httpx.Client):
    repo = create_dataset(client)
    commit(client, repo, "main", regular_file("README.md", b"# hi\n"))
    files = [{"path": "README.md", "sample": base64.b64encode(b"# hi\n").decode(), "size": 5},
             {"path": "data/x.parquet", "sample": base64.b64encode(b"PAR1").decode(), "size": 4}]

    reply = client.post(f"/api/datasets/{repo}/preupload/main", json={"files": files}).json()["files"]

    assert [f["uploadMode"] for f in reply] == ["regular", "lfs"]
    assert reply[0]["oid"] == hashlib.sha1(b"blob 5\0# hi\n").hexdigest() and reply[1]["oid"] is None


def test_tree_listing_follows_link_headers(client: httpx.Client):
    repo = create_dataset(client)
    commit(client, repo, "main", *(regular_file(p, p.encode()) for p in ["a/1.txt", "a/b/2.txt", "c.txt"]))

    paths, url = [], f"/api/datasets/{repo}/tree/main?recursive=true"
    while url:
        response = client.get(url)
        paths += [item["path"] for item in response.json()]
        url = response.links.get("next", {}).get("url")
    top = [item["path"] for item in client.get(f"/api/datasets/{repo}/tree/main/a").json()]

    assert paths == [".gitattributes", "a", "a/1.txt", "a/b", "a/b/2.txt", "c.txt"]
    assert top == ["a/1.txt", "a/b"]


def test_private_repositories_and_writes_need_the_token(client: httpx.Client, hub: LocalHub):
    repo = create_dataset(client, "secret", private=True)

    anonymous = httpx.get(f"{hub.endpoint}/api/datasets/{repo}")
    wrong = httpx.post(f"{hub.endpoint}/api/repos/create", json={"name": "x", "type": "dataset"},
                       headers={"Authorization": "Bearer hf_wrong"})

    assert anonymous.status_code == 404 and anonymous.headers["X-Error-Code"] == "RepoNotFound"
    assert client.get(f"/api/datasets/{repo}").status_code == 200
    assert wrong.status_code == 401
    assert client.get("/api/whoami-v2").json()["name"] == "local-user"


def test_unknown_requests_are_404_and_recorded(client: httpx.Client, hub: LocalHub):
    response = client.get("/api/spaces/me/app/runtime")

    assert response.status_code == 404 and "hub_server: no route" in response.json()["error"]
    assert hub.unhandled == ["GET /api/spaces/me/app/runtime"]


def test_a_restarted_server_serves_the_same_repositories(tmp_path: Path):
    with LocalHub(tmp_path / "hub") as hub, httpx.Client(base_url=hub.endpoint) as client:
        repo = create_dataset(client)
        head = commit(client, repo, "main", regular_file("a.txt", b"kept")).json()["commitOid"]

    with LocalHub(tmp_path / "hub") as hub:
        assert hub.history(repo)[0] == head
        assert hub.files(repo)["a.txt"] == b"kept"


LIST_WITH_HF_API = """
import json, sys
from huggingface_hub import HfApi, hf_hub_download
api = HfApi(token=sys.argv[1])
api.create_repo("me/tree", repo_type="dataset")
api.create_branch("me/tree", repo_type="dataset", branch="v1/draft")
api.upload_folder(repo_id="me/tree", repo_type="dataset", folder_path=sys.argv[2], revision="v1/draft")
files = api.list_repo_tree("me/tree", repo_type="dataset", revision="v1/draft", recursive=True)
tree = [f.path for f in files]
refs = [b.name for b in api.list_repo_refs("me/tree", repo_type="dataset").branches]
text = open(hf_hub_download("me/tree", "d/e/f.txt", repo_type="dataset", revision="v1/draft")).read()
print(json.dumps({"tree": tree, "refs": refs, "text": text}))
"""


def test_the_real_client_lists_paginated_trees_and_downloads_from_slashed_branches(hub: LocalHub, tmp_path):
    folder = tmp_path / "folder"
    for path in ["a.txt", "b.txt", "d/e/f.txt", "d/g.txt"]:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(f"content of {path}")

    result = subprocess.run([sys.executable, "-c", LIST_WITH_HF_API, TOKEN, str(folder)], capture_output=True,
                            text=True, env=hub.client_env(tmp_path / "hf-home"), timeout=120)

    assert result.returncode == 0, result.stderr[-3000:]
    listed = json.loads(result.stdout.splitlines()[-1])
    assert listed["tree"] == [".gitattributes", "a.txt", "b.txt", "d", "d/e", "d/e/f.txt", "d/g.txt"]
    assert sorted(listed["refs"]) == ["main", "v1/draft"] and listed["text"] == "content of d/e/f.txt"
    assert hub.unhandled == []
