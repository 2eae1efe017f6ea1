"""The resumable writer of every object store, journaled so that no accepted byte is lost.

An upload of ``path`` is a store upload (:class:`~distfs.engine.seam.Upload`: multipart
parts, composed part objects or staged blocks, as the store does it) plus a **journal**:
the hidden object ``state`` in the path's upload directory, holding a JSON header (the
upload's id and scratch prefix, the token and size of every part, the tail's length and
sha256) and then the *tail*, the bytes that do not fill a part yet (a journal whose tail
does not match its header is reported damaged, never resumed). The journal is replaced in one ``put``, so
it always describes one consistent moment: the last :meth:`Session.close`.

The rules, each of which a crash test checks by killing a process at random points:

* A ``write`` either accepts all of its bytes or raises having accepted none: parts it
  uploaded before failing are forgotten (the journal never names them), and the buffer
  is untouched. ``size`` counts accepted bytes only.
* A resumed writer (``append=True``) reads the journal and checks the store still holds
  every part it names: its ``size`` is exactly the size of the last ``close()``. Parts a
  writer uploaded after its last ``close()`` are ignored and overwritten.
* A writer names its store upload in the journal before the upload's first part (one
  ``put`` of the journal of the last ``close()`` with only the upload added, once per
  upload; a writer whose whole object fits in its buffer creates no upload): so a writer
  that dies after uploading parts leaves an upload the journal names, which the next
  writer of the path resumes (its commit or ``cancel`` ends it, the dead writer's parts
  with it) or, a new writer, aborts. Nothing of an earlier writer's upload outlives a
  commit. An upload named with no parts that is gone when resumed (and did not publish
  the object) held nothing journaled: the writer continues from the journal's tail.
* Appending to a committed object copies it into a new upload (server-side where the
  store can copy ranges; the last short part is read back into the buffer) and writes
  the journal only then: a process killed before that leaves no journal, and the next
  append starts over from the committed object, never at 0.
* ``commit()`` publishes (one ``put`` when everything fits in the buffer, else completing
  the upload), then deletes the journal. A process killed in between leaves a journal
  whose upload is gone: the next append sees that (NotFound from ``list_parts``) and,
  when the object at the path is the one that upload published (its *origin*, which the
  store stamps on it, is the upload's; never decided by size), drops the stale journal
  and continues from the committed object. Otherwise the upload was lost: the append
  (or a ``commit`` that meets a gone upload) raises DriverError naming the path and
  reports no success. A store that keeps parts under the scratch prefix marks the upload
  gone before removing them, so a half-done clean-up never reads as lost data.
* A resumed writer may have another chunk size than the one that journaled the upload:
  a tail longer than its chunk goes out whole as the next part; ``size`` and the
  published bytes are exactly the bytes accepted.
* A new writer (``append=False``) journals an empty upload at once (one create-only
  ``put``; when an earlier upload of the path is suspended, its journal is read and
  replaced and its store upload aborted; a damaged or older-format journal, which an
  append refuses with DriverError naming the path, is replaced as it is, and what its
  upload left is removed by ``delete`` of the path), so it resumes at 0 even before its first
  ``close()``. A small object written and committed at once costs three requests: that
  ``put``, the ``put`` of the object and the deletion of the journal. A process killed
  between the last two leaves the object published and the journal of its last
  ``close()`` behind (as Go's drivers leave their upload state).
* On a store with real directories (:class:`~distfs.engine.seam.Tree`), where a commit
  is one rename, a commit leaves no stale journal behind either: the journal names the
  writer's scratch prefix from the start, every commit goes through an upload (so the
  object carries the writer's origin), and a resumed writer first asks whether the
  object at the path carries its journal's origin (then the commit happened and the
  writer continues from the committed object).
* Concurrent writers of one path each have their own store upload: whichever publishes
  last publishes exactly its own bytes. A store with :class:`~distfs.engine.seam.Claims`
  allows one writer per path instead: a writer claims the upload when it opens (before
  anything else) and releases it when it suspends, commits or cancels; a second writer
  of the path meanwhile gets WriterConflictError.
"""

from __future__ import annotations

from ..errors import DriverError, ObjectChangedError, PathNotFoundError
from .journal import JournaledUpload, _Damaged, _Journal, _same_token
from .seam import Exists

__all__ = ["Session"]

#: How often an append copies a committed object that keeps being replaced meanwhile.
_COPY_ATTEMPTS = 5


class Session(JournaledUpload):
    """One writer's upload of ``path``, as coroutines (see the module docstring).

    Call :meth:`open` first. Not safe for concurrent use: one writer, one task at a time.
    """

    # -- opening ----------------------------------------------------------------------

    async def open(self, append: bool) -> None:
        claims = getattr(self._store, "claim_upload", None)
        if claims is not None:
            async with self._engine.errors(self._path, "opening a writer of"):
                self._claim = await claims(self._key, self._state_key)
        try:
            await self._open(append)
        except BaseException:
            await self._release(finished=True)  # nothing of this writer to keep (a journal stays)
            raise

    async def _open(self, append: bool) -> None:
        if not append:
            await self._start()
            return
        journal = await self._read_journal()
        if journal is not None and await self._resume(journal):
            return
        await self._continue_committed()

    async def _start(self) -> None:
        """Journal a new, empty upload (resumable at 0 at once), replacing an earlier one.

        One create-only ``put`` when the path has no suspended upload; otherwise the earlier
        journal is read, replaced and its store upload aborted.
        """
        engine = self._engine
        data = _Journal(None, scratch=self._scratch if engine.tree is not None else "").dump()
        try:
            async with engine.errors(self._path, "starting an upload of"):
                await engine.call(lambda: self._store.put(self._state_key, data, if_absent=True))
        except DriverError as exc:
            if not isinstance(exc.__cause__, Exists):
                raise
            try:
                replaced = await self._read_journal()
            except _Damaged:  # its upload cannot be named: ``delete`` of the path removes what it left
                replaced = None
            async with engine.errors(self._path, "starting an upload of"):
                await engine.call(lambda: self._store.put(self._state_key, data))
            if replaced is not None and replaced.upload is not None:
                await self._abort(replaced.upload)
        self._journaled = True

    async def _resume(self, journal: _Journal) -> bool:
        """Continue the journaled upload; False when the journal is stale (its upload is gone)."""
        engine = self._engine
        if engine.tree is not None and journal.scratch:
            if await self._committed(journal.scratch):  # a commit died before dropping the journal
                await self._discard(journal, journal_too=True)
                return False
            self._scratch = journal.scratch  # this writer's upload will carry the journal's origin
        if journal.upload is not None and (journal.parts or engine.tree is None):  # also one named
            # before its first part (see ``write``): a commit may have completed it
            upload = journal.upload
            try:
                async with engine.errors(self._path, "resuming"):
                    stored = await engine.call(lambda: self._store.list_parts(upload))
            except PathNotFoundError:  # committed meanwhile (by a process killed before it
                if journal.parts or await self._committed(upload.scratch):  # dropped the journal), or lost
                    await self._check_published(upload)
                    await self._discard(journal, journal_too=True)
                    return False
                journal.upload = None  # gone holding nothing journaled: the tail is all there is
            for number, part in enumerate(journal.parts, 1):
                found = stored.get(number)
                if found is None or found.size != part.size or not _same_token(found.token, part.token):
                    raise DriverError(f"upload of {self._path} lost part {number}", engine.name)
        self._upload = self._named = journal.upload
        self._parts = list(journal.parts)
        self._buffer = bytearray(journal.tail)
        self._kept = len(journal.tail)
        self._journaled = True
        return True

    async def _continue_committed(self) -> None:
        """Start an upload holding the committed object; journal it only once it is complete.

        An object replaced while it is copied is copied again (its new version), a few times.
        """
        for attempt in range(_COPY_ATTEMPTS):
            try:
                await self._copy_committed()
                return
            except ObjectChangedError:
                if attempt == _COPY_ATTEMPTS - 1:
                    raise
                if self._upload is not None:
                    await self._abort(self._upload)
                self._upload, self._parts, self._buffer = None, [], bytearray()

    async def _copy_committed(self) -> None:
        engine = self._engine
        source = await engine.head(self._path)
        if not source.size:
            return
        limits = self._store.limits
        if limits.copy_ranges:
            full = source.size // self._chunk * self._chunk
            spans = [(start, start + self._chunk) for start in range(0, full, self._chunk)]
        else:
            full = source.size
            spans = [(0, full)]
        if spans:
            upload = await self._create_upload()
            for number, (start, end) in enumerate(spans, 1):
                self._parts.append(await self._copy_part(upload, number, source, start, end))
        if full < source.size:
            tail, _ = await engine.read_range(self._path, full, source.size, source.version)
            self._buffer = bytearray(tail)
        await self._save()

    # -- writing ----------------------------------------------------------------------

    async def write(self, data: bytes | bytearray | memoryview) -> int:
        """Accept all of ``data`` or raise having accepted none of it."""
        view = memoryview(data).cast("B")
        total = len(view)
        if not total:
            return 0
        room = self._chunk - len(self._buffer)
        if total < room:
            self._buffer += view
            self._dirty = True
            return total
        room = max(room, 0)  # a resumed tail may hold more than this writer's chunk: one part
        if self._named is None and self._engine.tree is None:
            await self._name_upload()  # before its first part (see the rules); none accepted if it fails
        count, kept = len(self._parts), len(self._buffer)
        self._buffer += view[:room]
        part, self._buffer = bytes(self._buffer), bytearray()  # one copy of the chunk in memory
        try:
            await self._upload_part(part)
            position = room
            while total - position >= self._chunk:
                await self._upload_part(bytes(view[position : position + self._chunk]))
                position += self._chunk
        except BaseException:
            del self._parts[count:]  # forgotten: the journal never named them
            self._buffer = bytearray(part[:kept])  # and none of ``data`` accepted
            raise
        del part
        self._buffer = bytearray(view[position:])
        self._dirty = True
        return total

    # -- suspending, publishing, cancelling ----------------------------------------------

    async def close(self) -> None:
        """Suspend: journal everything accepted so far."""
        try:
            if self._dirty or not self._journaled:
                await self._save()
        finally:
            await self._release(finished=False)

    async def _save(self) -> None:
        engine = self._engine
        if self._upload is not None and self._parts:
            upload, parts = self._upload, list(self._parts)
            async with engine.errors(self._path, "suspending"):
                await engine.call(lambda: self._store.persist_parts(upload, parts))
        scratch = self._scratch if engine.tree is not None else ""
        data = _Journal(self._upload, self._parts, bytes(self._buffer), scratch).dump()
        async with engine.errors(self._path, "suspending"):
            await engine.call(lambda: self._store.put(self._state_key, data))
        self._journaled = True
        self._named, self._kept = self._upload, len(self._buffer)
        self._dirty = False

    async def commit(self) -> None:
        """Publish everything written; on failure the upload stays suspended, nothing lost."""
        finished = False
        try:
            await self._commit()
            finished = True
        finally:
            await self._release(finished=finished)

    async def _commit(self) -> None:
        engine = self._engine
        count = len(self._parts)
        size, tail = self.size, bytes(self._buffer)
        try:
            if self._upload is None and engine.tree is None:
                async with engine.errors(self._path, "committing"):
                    await engine.call(lambda: self._store.put(self._key, tail))
            else:
                if tail or not self._parts:
                    await self._upload_part(tail)
                    self._buffer = bytearray()  # now the last part (``size`` counts it once)
                await self._complete(await self._create_upload())
        except BaseException:
            del self._parts[count:]
            self._buffer = bytearray(tail)
            try:
                await self._save()
            except Exception as exc:  # the original failure is what the caller needs to see
                raise DriverError(
                    f"committing {self._path} failed and so did suspending it: {exc}", engine.name
                ) from exc
            raise
        self._published = size
        self._buffer = bytearray()
        if self._journaled:
            await self._delete_journal()

    async def cancel(self) -> None:
        """Remove the upload and its journal."""
        finished = False
        try:
            if self._upload is not None:
                await self._abort(self._upload)
            self._buffer = bytearray()
            if self._journaled:
                await self._delete_journal()
            finished = True
        finally:
            await self._release(finished=finished)
