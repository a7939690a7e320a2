"""Storage behind the local Hub server: repositories, branches, commit chains and content-addressed blobs.

Each repository keeps every commit as a full snapshot (path -> FileEntry); file contents live once under
`ROOT/blobs/<sha256[:2]>/<sha256>`; the metadata is saved as `ROOT/state.json` after every change, so a
server restarted on the same root serves the same repositories.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

INITIAL_GITATTRIBUTES = (b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"
                         b"*.arrow filter=lfs diff=lfs merge=lfs -text\n"
                         b"*.png filter=lfs diff=lfs merge=lfs -text\n")


class HubError(Exception):
    """An error the server answers with `status` and the Hub's `X-Error-Code` header (when `code` is set)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def git_blob_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


@dataclass(frozen=True)
class FileEntry:
    """One file of a commit: its content hash, size, git blob id, and whether it is stored with LFS."""

    sha256: str
    size: int
    git_oid: str
    lfs: bool

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_oid

    @property
    def pointer_size(self) -> int:
        return len(lfs_pointer(self.sha256, self.size))

    def as_tree_item(self, path: str) -> dict:
        item = {"type": "file", "oid": self.git_oid, "size": self.size, "path": path}
        if self.lfs:
            item["lfs"] = {"oid": self.sha256, "size": self.size, "pointerSize": self.pointer_size}
        return item


@dataclass
class Commit:
    id: str
    parent: str | None
    title: str
    message: str
    date: str
    tree: dict[str, FileEntry]

    def as_item(self) -> dict:
        return {"id": self.id, "title": self.title, "message": self.message, "date": self.date,
                "authors": [{"user": "local-user"}]}


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: str
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit:
        """The commit a branch name or a (full or 7+ character) commit id points to."""
        if revision in self.branches:
            return self.commits[self.branches[revision]]
        if revision in self.commits:
            return self.commits[revision]
        commits = list(self.commits.items())
        matches = [c for oid, c in commits if len(revision) >= 7 and oid.startswith(revision)]
        if len(matches) == 1:
            return matches[0]
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def history(self, revision: str) -> list[Commit]:
        """Commits from `revision` back to the first one, newest first."""
        commit, chain = self.resolve(revision), []
        while commit is not None:
            chain.append(commit)
            commit = self.commits.get(commit.parent) if commit.parent else None
        return chain


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class HubStore:
    """Thread-safe repositories on disk under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.repos: dict[tuple[str, str], Repo] = self._load()

    def _load(self) -> dict[tuple[str, str], Repo]:
        state = self.root / "state.json"
        if not state.exists():
            return {}
        repos = {}
        for raw in json.loads(state.read_text()):
            commits = {oid: Commit(**{**c, "tree": {p: FileEntry(**e) for p, e in c["tree"].items()}})
                       for oid, c in raw.pop("commits").items()}
            repo = Repo(**raw, commits=commits)
            repos[(repo.repo_type, repo.repo_id)] = repo
        return repos

    def _save(self) -> None:
        state = self.root / "state.json"
        state.with_suffix(".tmp").write_text(json.dumps([asdict(r) for r in self.repos.values()]))
        state.with_suffix(".tmp").replace(state)

    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).exists()

    def put_blob(self, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        path = self.blob_path(sha256)
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            tmp = path.with_suffix(f".{uuid.uuid4().hex}")
            tmp.write_bytes(content)
            tmp.replace(path)
        return sha256

    def repo(self, repo_type: str, repo_id: str) -> Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, f"Repository not found: {repo_type}s/{repo_id}", "RepoNotFound")
        return repo

    def create_repo(self, repo_type: str, repo_id: str, private: bool) -> bool:
        """Create `repo_id` with an initial commit holding `.gitattributes`; False when it already exists."""
        with self.lock:
            if (repo_type, repo_id) in self.repos:
                return False
            repo = Repo(repo_type, repo_id, private, now_iso())
            self.repos[(repo_type, repo_id)] = repo
            entry = FileEntry(self.put_blob(INITIAL_GITATTRIBUTES), len(INITIAL_GITATTRIBUTES),
                              git_blob_oid(INITIAL_GITATTRIBUTES), lfs=False)
            self._add_commit(repo, "main", None, "initial commit", "", {".gitattributes": entry})
            return True

    def create_branch(self, repo: Repo, branch: str, starting_point: str | None) -> None:
        with self.lock:
            if branch in repo.branches:
                raise HubError(409, f"Reference already exists: refs/heads/{branch}")
            repo.branches[branch] = repo.resolve(starting_point or "main").id
            self._save()

    def delete_branch(self, repo: Repo, branch: str) -> None:
        with self.lock:
            if branch == "main" or branch not in repo.branches:
                raise HubError(400 if branch == "main" else 404, f"Cannot delete branch {branch}",
                               None if branch == "main" else "RevisionNotFound")
            del repo.branches[branch]
            self._save()

    def commit(self, repo: Repo, branch: str, operations: list[dict], header: dict) -> Commit:
        """Apply `file`/`lfsFile`/`deletedFile`/`deletedFolder` operations to the head of `branch`."""
        with self.lock:
            if branch not in repo.branches:
                raise HubError(404, f"Branch not found: {branch}", "RevisionNotFound")
            head = repo.commits[repo.branches[branch]]
            parent = header.get("parentCommit")
            if parent and not head.id.startswith(parent):
                raise HubError(412, "A commit has happened since. Please refresh and try again.")
            tree = dict(head.tree)
            for operation in operations:
                self._apply(tree, operation["key"], operation["value"])
            return self._add_commit(repo, branch, head.id, header.get("summary") or "Commit",
                                    header.get("description") or "", tree)

    def _apply(self, tree: dict[str, FileEntry], key: str, value: dict) -> None:
        path = value.get("path", "").strip("/")
        if key == "file":
            content = base64.b64decode(value["content"])
            tree[path] = FileEntry(self.put_blob(content), len(content), git_blob_oid(content), lfs=False)
        elif key == "lfsFile":
            sha256 = value["oid"]
            if not self.has_blob(sha256):
                raise HubError(422, f"LFS object {sha256} for {path} was never uploaded")
            size = self.blob_path(sha256).stat().st_size
            tree[path] = FileEntry(sha256, size, git_blob_oid(lfs_pointer(sha256, size)), lfs=True)
        elif key == "deletedFile":
            if tree.pop(path, None) is None:
                raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
        elif key == "deletedFolder":
            for name in [n for n in tree if n.startswith(path + "/")]:
                del tree[name]
        else:
            raise HubError(400, f"Unknown commit operation '{key}'")

    def _add_commit(self, repo: Repo, branch: str, parent: str | None, title: str, message: str,
                    tree: dict[str, FileEntry]) -> Commit:
        date = now_iso()
        seed = json.dumps([parent, title, message, date, uuid.uuid4().hex, sorted(tree)])
        commit = Commit(hashlib.sha1(seed.encode()).hexdigest(), parent, title, message, date, tree)
        repo.commits[commit.id] = commit
        repo.branches[branch] = commit.id
        self._save()
        return commit


def tree_items(tree: dict[str, FileEntry], folder: str, recursive: bool) -> list[dict] | None:
    """Files and folders under `folder` (direct children unless `recursive`); None when `folder` is absent."""
    prefix = f"{folder}/" if folder else ""
    below = sorted(path for path in tree if path.startswith(prefix))
    if folder and not below:
        return None
    names: set[str] = set()
    for path in below:
        parts = path[len(prefix):].split("/")
        depth = len(parts) if recursive else 1
        names.update(prefix + "/".join(parts[:i + 1]) for i in range(min(depth, len(parts))))
    return [path_item(tree, name) for name in sorted(names)]


def path_item(tree: dict[str, FileEntry], path: str) -> dict | None:
    if path in tree:
        return tree[path].as_tree_item(path)
    if any(name.startswith(path + "/") for name in tree):
        children = sorted((name, e.git_oid) for name, e in tree.items() if name.startswith(path + "/"))
        oid = hashlib.sha1(json.dumps(children).encode()).hexdigest()
        return {"type": "directory", "oid": oid, "size": 0, "path": path}
    return None
