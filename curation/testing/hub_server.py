"""A Hugging Face Hub-API-compatible HTTP server on 127.0.0.1, enough for the real `huggingface_hub` and
`datasets` clients to create repositories and branches, commit (regular and LFS files), list trees and
download files by branch or commit.

    with LocalHub(tmp_path / "hub", token="hf_local") as hub:
        HfApi(endpoint=hub.endpoint, token="hf_local").create_repo("me/poems", repo_type="dataset")

Run it for a demo with `python -m curation.testing.hub_server --port 8765 --root DIR`. Clients must set
`HF_HUB_DISABLE_XET=1` (there is no Xet storage here). Requests the server does not know get a 404 whose
message starts with "hub_server: no route" and are listed in `hub.unhandled`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import os
import re
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from curation.testing.hub_cards import card_errors
from curation.testing.hub_store import FileEntry, HubError, HubStore, Repo, path_item, tree_items
from curation.testing.loopback import LoopbackHTTPServer

logger = logging.getLogger(__name__)

LFS_SUFFIXES = (".parquet", ".arrow", ".png", ".jpg", ".jpeg", ".npy", ".safetensors", ".bin", ".zip", ".gz")
LFS_MIN_SIZE = 10 * 1024 * 1024
REPO = r"(?P<repo>[\w.-]+/[\w.-]+)"
API = r"/api/(?P<kind>models|datasets|spaces)/" + REPO
FILES = r"/(?:(?P<kind>datasets|spaces)/)?" + REPO


class LocalHub:
    """Serve a HubStore on 127.0.0.1 in a background thread (`with LocalHub(root) as hub`) or in front."""

    def __init__(self, root: Path, *, token: str | None = None, port: int = 0, page_size: int = 1000,
                 rate_limited_commits: int = 0) -> None:
        """`rate_limited_commits`: answer that many first commit requests with 429 and `Retry-After: 0.1`."""
        self.store, self.token, self.page_size = HubStore(Path(root)), token, page_size
        self.rate_limited_commits, self.refused_commits = rate_limited_commits, 0
        self.unhandled: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self._server = LoopbackHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def client_env(self, home: Path) -> dict[str, str]:
        """Environment for a process whose `huggingface_hub`/`datasets` clients should talk to this hub."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE_"))}
        return inherited | {"HF_ENDPOINT": self.endpoint, "HF_HOME": str(home), "HF_HUB_DISABLE_XET": "1",
                            "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0",
                            "HF_HUB_DISABLE_TELEMETRY": "1"}

    def branches(self, repo_id: str, repo_type: str = "dataset") -> dict[str, str]:
        return dict(self.store.repo(repo_type, repo_id).branches)

    def history(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> list[str]:
        """Commit ids of `revision`, newest first."""
        return [c.id for c in self.store.repo(repo_type, repo_id).history(revision)]

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> dict[str, bytes]:
        tree = self.store.repo(repo_type, repo_id).resolve(revision).tree
        return {path: self.store.blob_path(e.sha256).read_bytes() for path, e in sorted(tree.items())}

    def __enter__(self) -> LocalHub:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="local-hub",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def serve(self) -> None:
        print(f"Local Hub on {self.endpoint} (root {self.store.root}); Ctrl-C stops", flush=True)
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()


def _handler_for(hub: LocalHub) -> type[BaseHTTPRequestHandler]:
    return type("LocalHubHandler", (HubRequestHandler,), {"hub": hub})


class HubRequestHandler(BaseHTTPRequestHandler):
    """Routes requests to `route_*` methods: the raw (URL-encoded) path is matched, then each part decoded."""

    protocol_version = "HTTP/1.1"
    hub: LocalHub
    ROUTES: list[tuple[str, re.Pattern, str]] = [
        (method, re.compile(pattern + r"/?\Z"), name) for method, pattern, name in [
            ("GET", r"/api/whoami-v2", "whoami"),
            ("GET", r"/api/agent-harnesses", "agent_harnesses"),
            ("POST", r"/api/repos/create", "create_repo"),
            ("POST", r"/api/validate-yaml", "validate_yaml"),
            ("GET", API + r"(?:/revision/(?P<rev>[^/]+))?", "repo_info"),
            ("GET", API + r"/refs", "refs"),
            ("GET", API + r"/commits/(?P<rev>[^/]+)", "commits"),
            ("POST", API + r"/branch/(?P<rev>[^/]+)", "create_branch"),
            ("DELETE", API + r"/branch/(?P<rev>[^/]+)", "delete_branch"),
            ("POST", API + r"/preupload/(?P<rev>[^/]+)", "preupload"),
            ("POST", API + r"/commit/(?P<rev>[^/]+)", "commit"),
            ("GET", API + r"/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", "tree"),
            ("POST", API + r"/paths-info/(?P<rev>[^/]+)", "paths_info"),
            ("POST", FILES + r"\.git/info/lfs/objects/batch", "lfs_batch"),
            ("PUT", r"/lfs-upload/(?P<oid>[0-9a-f]{64})", "lfs_upload"),
            ("GET", FILES + r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
            ("HEAD", FILES + r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
        ]
    ]

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s %s", self.command, urlsplit(self.path).path)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.hub.requests.append((self.command, url.path))
        try:
            for method, pattern, name in self.ROUTES:
                match = pattern.match(url.path) if method == self.command else None
                if match:
                    params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
                    return getattr(self, f"route_{name}")(**params)
            self.hub.unhandled.append(f"{self.command} {url.path}")
            logger.warning("hub_server: no route for %s %s", self.command, url.path)
            raise HubError(404, f"hub_server: no route for {self.command} {url.path}")
        except HubError as error:
            headers = {"X-Error-Message": error.message}
            if error.code:
                headers["X-Error-Code"] = error.code
            self._send_json({"error": error.message}, error.status, headers)
        except (KeyError, TypeError, ValueError) as error:
            logger.exception("hub_server: %s %s failed", self.command, url.path)
            self._send_json({"error": f"hub_server: malformed request: {error!r}"}, 400)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _json_body(self) -> dict:
        body = self._body()
        try:
            return json.loads(body or b"{}")
        except json.JSONDecodeError as error:
            raise HubError(400, f"Invalid JSON body: {error}") from error

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", headers.get("Content-Length", str(len(body))))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, payload: object, status: int = 200, headers: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": "application/json", **(headers or {})}
        self._send(status, json.dumps(payload).encode(), headers)

    def _bearer(self) -> str | None:
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        return value if scheme.lower() == "bearer" else None

    def _require_token(self) -> None:
        if self.hub.token is not None and self._bearer() != self.hub.token:
            raise HubError(401, "Invalid credentials in Authorization header")

    def _repo(self, kind: str | None, repo: str, *, write: bool = False) -> Repo:
        found = self.hub.store.repo((kind or "models")[:-1], repo)
        if write or found.private:
            try:
                self._require_token()
            except HubError as error:
                status, code = (401, None) if write else (404, "RepoNotFound")
                raise HubError(status, error.message, code) from None
        return found

    def route_whoami(self) -> None:
        if self._bearer() is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        self._require_token()
        self._send_json({"type": "user", "name": "local-user", "fullname": "Local User", "orgs": [],
                         "auth": {"type": "access_token",
                                  "accessToken": {"displayName": "local", "role": "write"}}})

    def route_agent_harnesses(self) -> None:
        self._send_json({"standardEnvVars": [], "harnesses": {}})

    def route_create_repo(self) -> None:
        self._require_token()
        body = self._json_body()
        name, organization = body.get("name"), body.get("organization") or "local-user"
        if not name:
            raise HubError(400, "Missing repository name")
        repo_id, repo_type = f"{organization}/{name}", body.get("type") or "model"
        private = body.get("private") or body.get("visibility") == "private"
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"{self.hub.endpoint}/{prefix}{repo_id}"
        if not self.hub.store.create_repo(repo_type, repo_id, bool(private)):
            message = "You already created this repo"
            return self._send_json({"error": message, "url": url}, 409, {"X-Error-Message": message})
        self._send_json({"url": url, "name": repo_id, "id": repo_id})

    def route_validate_yaml(self) -> None:
        errors, warnings = card_errors(str(self._json_body().get("content", "")))
        self._send_json({"errors": [{"message": m} for m in errors],
                         "warnings": [{"message": m} for m in warnings]}, 400 if errors else 200)

    def route_repo_info(self, kind: str, repo: str, rev: str = "main") -> None:
        found = self._repo(kind, repo)
        commit = found.resolve(rev)
        siblings = [{"rfilename": path, "size": e.size, "blobId": e.git_oid, "lfs": e.lfs and
                     {"sha256": e.sha256, "size": e.size, "pointerSize": e.pointer_size} or None}
                    for path, e in sorted(commit.tree.items())]
        self._send_json({"id": found.repo_id, "author": found.repo_id.split("/")[0], "sha": commit.id,
                         "private": found.private, "gated": False, "disabled": False, "downloads": 0,
                         "likes": 0, "tags": [], "createdAt": found.created_at, "lastModified": commit.date,
                         "siblings": siblings, "cardData": {}})

    def route_refs(self, kind: str, repo: str) -> None:
        branches = self._repo(kind, repo).branches
        self._send_json({"branches": [{"name": name, "ref": f"refs/heads/{name}", "targetCommit": oid}
                                      for name, oid in list(branches.items())],
                         "tags": [], "converts": [], "pullRequests": []})

    def route_commits(self, kind: str, repo: str, rev: str) -> None:
        self._send_page([c.as_item() for c in self._repo(kind, repo).history(rev)])

    def route_create_branch(self, kind: str, repo: str, rev: str) -> None:
        found = self._repo(kind, repo, write=True)
        self.hub.store.create_branch(found, rev, self._json_body().get("startingPoint"))
        self._send_json({})

    def route_delete_branch(self, kind: str, repo: str, rev: str) -> None:
        self.hub.store.delete_branch(self._repo(kind, repo, write=True), rev)
        self._send_json({})

    def route_preupload(self, kind: str, repo: str, rev: str) -> None:
        found = self._repo(kind, repo, write=True)
        head = found.resolve(rev)
        files = []
        for file in self._json_body().get("files", []):
            path, size = file["path"], int(file.get("size", 0))
            sample = base64.b64decode(file.get("sample", ""))
            lfs = path.lower().endswith(LFS_SUFFIXES) or size >= LFS_MIN_SIZE or b"\0" in sample
            existing: FileEntry | None = head.tree.get(path)
            files.append({"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                          "oid": existing.etag if existing and existing.lfs == lfs else None})
        self._send_json({"files": files, "commitOid": head.id})

    def route_commit(self, kind: str, repo: str, rev: str) -> None:
        found = self._repo(kind, repo, write=True)
        if self.query.get("create_pr"):
            raise HubError(400, "hub_server: pull requests are not supported")
        body = self._body()
        with self.hub.store.lock:
            refuse = self.hub.refused_commits < self.hub.rate_limited_commits
            self.hub.refused_commits += refuse
        if refuse:
            message = "You have exceeded our commit rate limit; retry later"
            headers = {"Retry-After": "0.1", "X-Error-Message": message}
            return self._send_json({"error": message}, 429, headers)
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next((line["value"] for line in lines if line.get("key") == "header"), {})
        operations = [line for line in lines if line.get("key") != "header"]
        commit = self.hub.store.commit(found, rev, operations, header)
        prefix = "" if kind == "models" else f"{kind}/"
        self._send_json({"commitUrl": f"{self.hub.endpoint}/{prefix}{repo}/commit/{commit.id}",
                         "commitOid": commit.id, "success": True, "pullRequestUrl": None})

    def route_tree(self, kind: str, repo: str, rev: str, path: str = "") -> None:
        commit = self._repo(kind, repo).resolve(rev)
        recursive = self.query.get("recursive", "").lower() in ("1", "true")
        items = tree_items(commit.tree, path.strip("/"), recursive)
        if items is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        self._send_page(items)

    def route_paths_info(self, kind: str, repo: str, rev: str) -> None:
        commit = self._repo(kind, repo).resolve(rev)
        body = self._body()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            paths = json.loads(body).get("paths", [])
        else:
            paths = parse_qs(body.decode()).get("paths", [])
        self._send_json([item for path in paths if (item := path_item(commit.tree, path.strip("/")))])

    def route_lfs_batch(self, kind: str | None, repo: str) -> None:
        self._repo(kind, repo, write=True)
        objects = []
        for obj in self._json_body().get("objects", []):
            item = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if not self.hub.store.has_blob(obj["oid"]):
                item["actions"] = {"upload": {"href": f"{self.hub.endpoint}/lfs-upload/{obj['oid']}"}}
            objects.append(item)
        self._send_json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
                        headers={"Content-Type": "application/vnd.git-lfs+json"})

    def route_lfs_upload(self, oid: str) -> None:
        body = self._body()
        if hashlib.sha256(body).hexdigest() != oid:
            raise HubError(400, f"Uploaded content does not match sha256 {oid}")
        self.hub.store.put_blob(body)
        self._send(200, b"", {})

    def route_resolve(self, kind: str | None, repo: str, rev: str, path: str) -> None:
        commit = self._repo(kind, repo).resolve(rev)
        entry = commit.tree.get(path)
        if entry is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        headers = {"X-Repo-Commit": commit.id, "ETag": f'"{entry.etag}"', "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        if entry.lfs:
            headers |= {"X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(entry.size)}
        content = self.hub.store.blob_path(entry.sha256).read_bytes()
        status, content = self._ranged(content, headers)
        headers["Content-Length"] = str(len(content))
        self._send(status, content, headers)

    def _ranged(self, content: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        if not match:
            return 200, content
        first, last = match.groups()
        start = int(first) if first else max(len(content) - int(last), 0)
        end = min(int(last), len(content) - 1) if first and last else len(content) - 1
        if start >= len(content):
            raise HubError(416, "Range not satisfiable")
        headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
        return 206, content[start:end + 1]

    def _send_page(self, items: list[dict]) -> None:
        """Send one page of `items` with a GitHub-style `Link: <...>; rel="next"` header when more follow."""
        start = int(self.query.get("cursor", "0") or 0)
        page, headers = items[start:start + self.hub.page_size], {}
        if start + self.hub.page_size < len(items):
            query = {**self.query, "cursor": start + self.hub.page_size}
            url = self.hub.endpoint + urlsplit(self.path).path + "?" + "&".join(
                f"{quote(str(k))}={quote(str(v))}" for k, v in query.items())
            headers["Link"] = f'<{url}>; rel="next"'
        self._send_json(page, headers=headers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--root", type=Path, required=True, help="folder holding the repositories")
    parser.add_argument("--token", default=None, help="require this bearer token for writes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    LocalHub(args.root, token=args.token, port=args.port).serve()


if __name__ == "__main__":
    main()
