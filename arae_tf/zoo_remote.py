"""Presets hosted elsewhere (`zoo.register_remote`): the download into the cache, checked by sha256
before and by the preset's manifest after unpacking; archive members outside the preset refused."""

import os
import shutil
import tarfile
import tempfile
import urllib.request

from absl import logging

from arae_tf.zoo import PresetError, cache_dir, file_sha256, verify


def download(name, remote):
    """Downloads the registered remote preset `name` ({url, sha256}) into the cache, checks the
    archive's sha256 and members before unpacking and the unpacked preset's manifest; returns its path."""
    target = os.path.join(cache_dir(), "zoo", name)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(target)) as tmp:
        archive = os.path.join(tmp, "preset.tar.gz")
        logging.info(f"[zoo] downloading {name} from {remote['url']}")
        with urllib.request.urlopen(remote["url"]) as r, open(archive, "wb") as f:
            shutil.copyfileobj(r, f)
        got = file_sha256(archive)
        if got != remote["sha256"]:
            raise PresetError(f"download of {name} from {remote['url']} has sha256 {got}, expected {remote['sha256']}; "
                              "refusing it (truncated or tampered)")
        with tarfile.open(archive) as tar:
            check_archive_members(tar, f"{name} ({remote['url']})")
            tar.extractall(os.path.join(tmp, "x"), filter="data")
        inner = os.path.join(tmp, "x")
        entries = os.listdir(inner)
        if len(entries) == 1 and os.path.isdir(os.path.join(inner, entries[0])):
            inner = os.path.join(inner, entries[0])
        verify(inner)
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.move(inner, target)
    return target


def check_archive_members(tar, what):
    """Refuses (PresetError naming `what` and the member) an archive with a member whose path is
    absolute or climbs out with `..`, or that is a link or a device: a preset holds plain files and
    folders only. Called before anything is unpacked."""
    for member in tar.getmembers():
        name = member.name
        parts = name.replace("\\", "/").split("/")
        if os.path.isabs(name) or name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
            raise PresetError(f"archive of {what}: member {name!r} is outside the preset (absolute path or '..'); "
                              "refusing to unpack it")
        if not (member.isfile() or member.isdir()):
            raise PresetError(f"archive of {what}: member {name!r} is a link or special file; refusing to unpack it")


# -- integrity ----------------------------------------------------------------
