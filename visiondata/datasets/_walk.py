"""Walking image folders: sorted like torchvision, links followed, each real folder once, loops reported."""

from __future__ import annotations

import os


class FolderWalk:
    """One walk of a tree: the loops and the folders that could not be listed are recorded as it goes.

    Symbolic links to folders are followed, each real folder (device and
    inode) once per `files` call: a link back to a folder that call has
    already walked (``x -> .``, ``up -> ..``) is recorded in `loops`
    and not followed, so a tree with loops neither runs forever nor indexes a
    file twice.

    Examples:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> (root / "cat").mkdir()
        >>> _ = (root / "cat" / "a.png").write_bytes(b"")
        >>> (root / "cat" / "up").symlink_to("..")
        >>> walk = FolderWalk(str(root))
        >>> walk.files(str(root / "cat"), "cat", (".png",), [])
        ['a.png']
        >>> len(walk.loops)
        1
    """

    def __init__(self, root: str) -> None:
        #: Links not followed because they lead back to a folder already walked: one line each.
        self.loops: list[str] = []
        #: Folders that could not be opened or listed: one line each.
        self.unlisted: list[str] = []
        info = os.stat(root)
        self.root_identity = (info.st_dev, info.st_ino)

    def files(self, top: str, name: str, extensions: tuple[str, ...], hidden: list[str]) -> list[str]:
        """Files under ``top`` with one of ``extensions``, relative to it, in torchvision's order.

        torchvision sorts the ``os.walk`` tuples (folder, names) and then the
        file names of each folder; the same order results from visiting the
        folders by sorted path. Hidden entries are appended to ``hidden``
        (as ``name/...``) and skipped. A link to a folder named like an image
        (``album.jpg``) is a folder.
        """
        seen = {self.root_identity}
        identity = self.identity(top, name)
        if identity is None:
            return []
        seen.add(identity)
        pending = [""]  # folders still to list, relative to top
        listed: list[tuple[str, list[str]]] = []
        while pending:
            prefix = pending.pop()
            folder = os.path.join(top, prefix) if prefix else top
            images = []
            for entry in self.list(folder, os.path.join(name, prefix) if prefix else name):
                relative = os.path.join(prefix, entry.name) if prefix else entry.name
                if entry.name.startswith("."):
                    hidden.append(os.path.join(name, relative))
                elif entry.is_dir():  # follows links
                    child = self.identity(entry.path, os.path.join(name, relative))
                    if child is None:
                        continue
                    if child in seen:
                        self.loops.append(
                            f"{os.path.join(name, relative)}: symbolic link to {os.path.realpath(entry.path)}, "
                            "a folder this walk has already been through (a loop, or a second way in); not followed"
                        )
                        continue
                    seen.add(child)
                    pending.append(relative)
                elif entry.name.lower().endswith(extensions):
                    images.append(entry.name)
            listed.append((prefix, images))
        found: list[str] = []
        for prefix, images in sorted(listed):
            found.extend([os.path.join(prefix, image) for image in images] if prefix else images)
        return found

    def identity(self, path: str, relative: str) -> tuple[int, int] | None:
        """``(device, inode)`` of the folder ``path`` leads to (links followed), or ``None`` if it cannot be read."""
        try:
            info = os.stat(path)
        except OSError as error:
            self.unlisted.append(f"{relative}: cannot open the folder: {error.strerror or error}")
            return None
        return info.st_dev, info.st_ino

    def list(self, folder: str, relative: str) -> list[os.DirEntry[str]]:
        """The entries of ``folder``; an unreadable folder is recorded and lists nothing."""
        try:
            with os.scandir(folder) as entries:
                return sorted(entries, key=entry_name)
        except OSError as error:
            self.unlisted.append(f"{relative}: cannot list the folder: {error.strerror or error}")
            return []


def entry_name(entry: os.DirEntry[str]) -> str:
    """The sort key of directory entries."""
    return entry.name
