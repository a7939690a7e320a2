import os
from pathlib import Path

import pytest

from curation.errors import OutputError
from curation.outputs import prepare_output_dir


def unwritable_folder(tmp_path):
    """A folder no file can be written in: read-only for a normal user; for root, who may write
    anywhere on a disk, a folder of sysfs, which refuses new entries."""
    if os.geteuid() == 0:
        return Path("/sys/kernel/curate-out")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_a_new_folder_is_made_with_its_parents(tmp_path):
    assert prepare_output_dir(tmp_path / "a" / "b").is_dir()


@pytest.mark.parametrize("where, reason", [
    ("file", "is a file, not a folder; give --out a folder"),
    ("below a file", "cannot write here (Not a directory); choose another --out"),
    ("unwritable", "cannot write here"),
])
def test_unusable_output_folders_are_one_clear_error(tmp_path, where, reason):
    (tmp_path / "file").write_text("not a folder")
    path = {"file": tmp_path / "file", "below a file": tmp_path / "file" / "out",
            "unwritable": unwritable_folder(tmp_path)}[where]
    with pytest.raises(OutputError) as error:
        prepare_output_dir(path)
    assert str(error.value).startswith(f"{path}: {reason}")
